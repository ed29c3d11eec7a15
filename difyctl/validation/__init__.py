"""JSON output validation: answers checked against a JSON Schema, with deterministic repair and a fallback.

- `repair`: the parse -> repair ladder (think blocks, code fences, surrounding text, json-repair audited);
- `schema`: load a JSON/YAML schema, check it against its metaschema, resolve $refs, compile once;
- `fastpath`: an accept-only predicate compiled from the common keywords (jsonschema decides the rest);
- `engine`: `Validator` (validate_text / validate_value / iter_jsonl), `DocResult`, `BatchSummary`,
  `load_validator` + `check_answer` for `run`/`broadcast --schema`;
- `inputs`: files/stdin as bytes, JSONL lines one at a time (long, binary and non-UTF-8 lines reported);
- `report`: the text and JSON renderings of a summary (strings and dicts; nothing is printed here).

Kept light on purpose: importing this package imports neither jsonschema nor json-repair.
"""
