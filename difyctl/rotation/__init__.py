"""Credential rotation with health checks: service API keys (engine.py, four phases after AWS
Secrets Manager: create -> test -> promote -> finish), workflow secret variables (secrets.py),
model-provider credentials (provider_creds.py) and the async key health check (health.py).

Engines return result objects; they never print or exit. Nothing here ever writes a secret value
to disk except the sinks that exist to deliver one (dotenv files, 0600)."""
