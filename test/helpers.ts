/** Shared helpers of the cross-package tests. */
export { freePort } from '@maskunet/cli/local';
