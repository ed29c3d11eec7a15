"""Broadcast fan-out: one query to many Dify apps at once (engine, stats, targets, results)."""
