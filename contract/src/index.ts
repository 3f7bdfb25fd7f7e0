/**
 * `@maskunet/contract`: one zod schema per wire shape — the HTTP API's bodies and query
 * parameters, the runner ⇄ dispatcher messages, the error body and codes, the closed
 * vocabularies (samplers, job states, visibility). Types are `z.infer`red from the schemas;
 * the worker validates with them and generates its OpenAPI document from them; the runner
 * parses dispatcher messages with them; the SDK imports the types. It imports nothing of
 * ours and nothing but zod, so the worker bundle pays only for zod.
 */
export { API_ERROR_CODES, API_ERROR_CODES_BY_STATUS, apiErrorBodySchema, apiErrorCodeSchema } from './errors';
export type { ApiErrorBody, ApiErrorCode, ApiErrorStatus } from './errors';

export {
  DEFAULT_SAMPLER,
  FINISHED_JOB_STATUSES,
  JOB_STATUSES,
  SAMPLER_NAMES,
  VISIBILITIES,
  jobStatusSchema,
  samplerNameSchema,
  visibilitySchema,
} from './enums';
export type { JobStatus, SamplerName, Visibility } from './enums';

export { BANK_ID_PATTERN, NAME_PATTERN } from './fields';
export { describeIssue, formatPath } from './issues';

export {
  MAX_GUIDANCE,
  MAX_MODEL_BUCKETS,
  MAX_SEED,
  MAX_TENANT_NAME_CHARS,
  bankDownloadQuerySchema,
  bankVersionListSchema,
  bankVersionSchema,
  createKeyResponseSchema,
  createTenantRequestSchema,
  createTenantResponseSchema,
  createVariantRequestSchema,
  generateAcceptedSchema,
  generateEventSchemas,
  generateRequestSchema,
  generationDefaultsSchema,
  jobRequestSchema,
  jobSchema,
  layoutLayerSchema,
  layoutSchema,
  modelConfigSchema,
  modelListSchema,
  modelSchema,
  registerModelConfigSchema,
  registerModelRequestSchema,
  runnerConnectQuerySchema,
  runnerSummarySchema,
  tenantLimitsSchema,
  tenantSchema,
  uploadBankResponseSchema,
  variantListQuerySchema,
  variantListSchema,
  variantSchema,
} from './api';
export type {
  BankVersion,
  BankVersionList,
  CreateKeyResponse,
  CreateTenantRequest,
  CreateTenantResponse,
  CreateVariantRequest,
  GenerateAccepted,
  GenerateEvents,
  GenerateRequest,
  Job,
  JobRequest,
  LayoutJson,
  LayoutLayerJson,
  Model,
  ModelConfig,
  ModelList,
  RegisterModelRequest,
  RunnerSummary,
  Tenant,
  TenantLimits,
  UploadBankResponse,
  Variant,
  VariantList,
} from './api';

export {
  BACKEND_PATTERN,
  DEFAULT_MAX_DISPATCHER_MESSAGE_CHARS,
  FAILURE_CODE_PATTERN,
  MAX_ANNOUNCED_BANKS,
  RUNNER_CLOSE_CODES,
  RUNNER_ID_PATTERN,
  RUNNER_PROTOCOL_VERSION,
  cancelMessageSchema,
  dispatcherToRunnerSchema,
  failedMessageSchema,
  heartbeatMessageSchema,
  helloMessageSchema,
  jobMessageSchema,
  parseDispatcherMessage,
  parseRunnerMessage,
  progressMessageSchema,
  resultMessageSchema,
  resultTimingsSchema,
  runnerToDispatcherSchema,
} from './runner-protocol';
export type {
  CancelMessage,
  DispatcherToRunner,
  FailedMessage,
  HeartbeatMessage,
  HelloMessage,
  JobMessage,
  ParsedMessage,
  ProgressMessage,
  ResultMessage,
  ResultTimings,
  RunnerToDispatcher,
} from './runner-protocol';
