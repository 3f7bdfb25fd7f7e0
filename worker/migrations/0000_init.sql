-- Initial schema of the edge worker's D1 database: tenants and their hashed API keys, base
-- models registered by the admin, tenant variants with the history of their bank versions,
-- content-addressed bank records, generation jobs, and per-tenant rate-limit windows.
-- Times are Unix epoch milliseconds.

CREATE TABLE tenants (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  -- NULL means "the deployment default" (RATE_LIMIT_JOBS_PER_MINUTE, BANK_BYTES_QUOTA).
  jobs_per_minute INTEGER,
  bank_bytes_quota INTEGER,
  created_at INTEGER NOT NULL
);

-- Keys are `mk_<43 base64url chars>`; only their SHA-256 is stored. `lookup` is the first 12
-- characters after `mk_`: an index to find the candidate row, never the secret itself.
CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  lookup TEXT NOT NULL,
  key_hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX api_keys_lookup ON api_keys(lookup);

CREATE TABLE models (
  id TEXT PRIMARY KEY,
  layout_json TEXT NOT NULL,
  layout_hash TEXT NOT NULL,
  layer_count INTEGER NOT NULL,
  config_json TEXT NOT NULL,
  created_at INTEGER NOT NULL
);

CREATE TABLE variants (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  model_id TEXT NOT NULL REFERENCES models(id),
  name TEXT NOT NULL,
  visibility TEXT NOT NULL CHECK (visibility IN ('private', 'public')),
  current_bank_id TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (tenant_id, model_id, name)
);
CREATE INDEX variants_tenant ON variants(tenant_id, created_at);

-- One row per stored blob (R2 key banks/<id>); shared by every variant that uploads it.
CREATE TABLE banks (
  id TEXT PRIMARY KEY,
  size INTEGER NOT NULL,
  layout_hash TEXT NOT NULL,
  buckets INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);

CREATE TABLE bank_versions (
  variant_id TEXT NOT NULL REFERENCES variants(id) ON DELETE CASCADE,
  version INTEGER NOT NULL,
  bank_id TEXT NOT NULL REFERENCES banks(id),
  created_at INTEGER NOT NULL,
  PRIMARY KEY (variant_id, version)
);
CREATE INDEX bank_versions_bank ON bank_versions(bank_id);

CREATE TABLE jobs (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  model_id TEXT NOT NULL,
  variant_id TEXT,
  bank_id TEXT,
  request_json TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
  attempt INTEGER NOT NULL DEFAULT 0,
  runner_id TEXT,
  backend TEXT,
  error_code TEXT,
  error_message TEXT,
  timings_json TEXT,
  image_key TEXT,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER
);
CREATE INDEX jobs_tenant ON jobs(tenant_id, created_at);

-- Fixed one-minute windows; rows older than the current window are deleted as they are met.
CREATE TABLE rate_windows (
  tenant_id TEXT NOT NULL,
  window_start INTEGER NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, window_start)
);
