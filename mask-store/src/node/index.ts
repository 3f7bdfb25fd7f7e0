/** Node-only parts of the mask store: the filesystem blob backend. */
export { FilesystemBackend } from './filesystem-backend';
