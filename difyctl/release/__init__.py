"""Releases from git: DSL files (one app per file, or a folder of them) planned against and applied to
a live Dify, through the rollback engine's safe path (`difyctl apply`).

files.py     read FILE or DIR (+ the `difyctl.yaml` manifest), refuse malformed or duplicate files
             before anything is sent; write the flat layout that `snapshot create --layout flat` seeds
engine.py    match files to live apps, plan (diff / create), apply (per app, or atomically), report
results.py   the plan and result objects (data only)
"""
