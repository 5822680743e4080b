-- Webhooks declared in a session's config JSON (POST/PATCH /api/sessions `config.webhooks`) become
-- Webhook rows (fromSessionConfig), so they are delivered like any endpoint, and their secrets leave
-- the JSON. A secret that is not whsec_ + base64 of 24..64 bytes is replaced by a generated one (rotate
-- it through the API to learn it). Plain secrets are sealed at the next boot when AUTH_STATE_KEY is set.
INSERT INTO "Webhook" ("id", "sessionId", "url", "events", "status", "secret", "fromSessionConfig", "createdAt", "updatedAt")
SELECT
  gen_random_uuid(),
  s."id",
  w->>'url',
  CASE
    WHEN jsonb_typeof(w->'events') = 'array' AND jsonb_array_length(w->'events') > 0
      THEN ARRAY(SELECT jsonb_array_elements_text(w->'events'))
    ELSE ARRAY['*']
  END,
  'ACTIVE',
  CASE
    WHEN (w->>'secret') ~ '^whsec_[A-Za-z0-9+/]{32,88}={0,2}$' THEN w->>'secret'
    ELSE 'whsec_' || encode(decode(replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', ''), 'hex'), 'base64')
  END,
  true,
  now(),
  now()
FROM "Session" s
CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(s."config"->'webhooks') = 'array' THEN s."config"->'webhooks' ELSE '[]'::jsonb END) AS w
WHERE jsonb_typeof(w) = 'object' AND jsonb_typeof(w->'url') = 'string';

-- The config keeps {url, events} for the Session view, never a secret.
UPDATE "Session"
SET "config" = jsonb_set("config", '{webhooks}', (
  SELECT COALESCE(jsonb_agg(CASE WHEN jsonb_typeof(w) = 'object' THEN w - 'secret' ELSE w END), '[]'::jsonb)
  FROM jsonb_array_elements("config"->'webhooks') AS w
))
WHERE jsonb_typeof("config"->'webhooks') = 'array';
