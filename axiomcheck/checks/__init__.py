"""Checks: one `Check` per property (`registry.PROPERTY_CHECKS`), the array predicates and rules they use, evidence.

The package itself imports nothing, so the weight guard can use `checks.rules` without
loading the checks the engine runs.
"""
