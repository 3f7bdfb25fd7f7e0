/**
 * Public surface of the gpu-runner's isomorphic core: ONNX model I/O and tensor
 * conversions, the typed graph builder and its op vocabulary, the diffusers-named U-Net and
 * the small text encoder with their tokenizer, and the mask layout resolver. Nothing here
 * imports `node:`; reading a model file with external data from disk is
 * `@maskunet/gpu-runner/node`.
 */
export { ModelError, isModelError } from './onnx/errors';
export type { ModelErrorCode } from './onnx/errors';
export { onnx, DataType, int64ToNumber } from './onnx/proto';
export type { OnnxTypes } from './onnx/proto';
export {
  isFloatType,
  toNumber,
  findAttr,
  attrInt,
  attrInts,
  attrFloat,
  attrString,
  attrTensor,
  makeAttribute,
  tensorToNumbers,
  defaultOpset,
} from './onnx/attributes';
export type { IntLike, AttrValue } from './onnx/attributes';
export type {
  ModelProto,
  GraphProto,
  NodeProto,
  TensorProto,
  ValueInfoProto,
  AttributeProto,
} from './onnx/proto';
export {
  readModel,
  writeModel,
  modelGraph,
  externalInitializers,
  isSafeExternalLocation,
  resolveExternalData,
  defaultOpsetVersion,
  DEFAULT_MAX_EXTERNAL_BYTES,
} from './onnx/model-io';
export type { ExternalDataReader, ExternalDataOptions } from './onnx/model-io';
export {
  ELEMENT_DATA_TYPE,
  bytesPerElement,
  tensorDims,
  elementCount,
  float32Tensor,
  int64Tensor,
  int32Tensor,
  uint8Tensor,
  tensorToFloat32,
  tensorToInt64,
  tensorToInt32,
  tensorToUint8,
} from './onnx/tensor';
export type { TensorElementType } from './onnx/tensor';
export {
  GraphBuilder,
  OP_VOCABULARY,
  OPSET_VERSION,
  IR_VERSION,
  tensorValueInfo,
} from './onnx/graph-builder';
export type {
  OpType,
  Dim,
  ValueType,
  AttributeValue,
  Attributes,
  Operand,
  ModelOptions,
} from './onnx/graph-builder';
export { SeededRandom, Sfc32, splitmix32 } from './onnx/seeded-random';
export { weightsFromSafetensors } from './onnx/weight-map';
export type { WeightTensor, WeightMap } from './onnx/weight-map';
export {
  ParameterStore,
  initialValue,
  randomWeights,
  toGraphLayout,
  fromGraphLayout,
} from './onnx/parameters';
export type {
  ParameterRole,
  ParameterSpec,
  GraphParameter,
  ParameterPlacement,
  PlaceOptions,
  NetworkBuildOptions,
  BuiltNetwork,
} from './onnx/parameters';
export { linear, conv2d, groupNorm, layerNorm, silu, gelu, attention, gegluFeedForward } from './onnx/nn';
export type { EmissionStyle, NetContext, GroupNormShape, AttentionOptions } from './onnx/nn';
export { SD15_UNET_CONFIG, TINY_UNET_CONFIG, resolveUNetConfig } from './unet/config';
export type { UNetConfig, ResolvedUNetConfig, DownBlockType, UpBlockType } from './unet/config';
export { buildUNet, unetParameters, randomUNetWeights, UNET_IO } from './unet/unet';
export {
  Vocabulary,
  buildVocabulary,
  parseVocabulary,
  formatVocabulary,
  splitWords,
  SPECIAL_TOKENS,
  PAD_ID,
  UNK_ID,
  BOS_ID,
  EOS_ID,
  VOCABULARY_FORMAT,
  DEFAULT_VOCABULARY_LIMITS,
} from './text/vocabulary';
export type { VocabularyLimits, BuildVocabularyOptions } from './text/vocabulary';
export {
  buildTextEncoder,
  textEncoderParameters,
  randomTextEncoderWeights,
  TEXT_ENCODER_IO,
  TINY_TEXT_ENCODER_CONFIG,
} from './text/text-encoder';
export type { TextEncoderConfig } from './text/text-encoder';
export {
  resolveMaskLayout,
  modulePathOfNode,
  modulePathOfParameter,
  isMaskedModulePath,
  EXCLUDED_COMPONENTS,
} from './layout/resolve-layout';
export type { ResolvedMaskLayer, ResolvedMaskLayout, ResolveLayoutOptions } from './layout/resolve-layout';
export * from './masking/index';
export * from './backends/index';
export {
  compositeOnWhite,
  downsample,
  imageToTensor,
  tensorToImage,
  upscale,
  tileImages,
} from './image/image';
export type { RgbImage } from './image/image';
export { decodePng, encodePng } from './image/png';
export * from './samplers/index';
export * from './pipeline/index';
