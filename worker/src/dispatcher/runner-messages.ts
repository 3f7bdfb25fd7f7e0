/**
 * What runners send, checked on arrival. A runner is trusted with jobs but its messages are
 * still parsed against the contract's schemas (`@maskunet/contract`, runner-protocol.ts): a
 * malformed message closes the socket with a protocol error instead of corrupting the
 * dispatcher's state. Plus the checks of a result's payload that need more than a schema.
 */
/**
 * Parses one text frame (`parseRunnerMessage(text, maxChars)`): `maxChars` bounds the frame
 * before JSON.parse touches it; the result is the typed message or the reason it was refused.
 */
export { parseRunnerMessage } from '@maskunet/contract';

/** Decodes standard base64; null when it is not valid base64. */
export function decodeBase64(text: string): Uint8Array | null {
  try {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return null;
  }
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length > PNG_SIGNATURE.length && PNG_SIGNATURE.every((byte, i) => bytes[i] === byte);
}
