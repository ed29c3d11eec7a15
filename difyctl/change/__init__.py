"""The one change engine: every change difyctl makes to an app (rollback, apply, promote, promote
--create) goes plan -> safety snapshot -> import (pending -> confirm only with --yes) -> publish ->
verify by re-export -> probe -> restore on any failure.

engine.py   ChangeEngine: plan (read-only), apply, restore, create
steps.py    the console protocol, the recorded step, import-and-confirm (written once)
secrets.py  the secret plan: kept / set / removed / missing, names only

Commands parse, call it, render and exit. Nothing here prints or exits. (Imports stay in the
modules: `difyctl.snapshots.results` uses `change.secrets`, so this file imports nothing.)
"""
