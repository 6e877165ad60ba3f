"""Checks: one `Check` per property (`registry.PROPERTY_CHECKS`; the contract in `base`), predicates, rules, evidence.

The package itself imports nothing, so the weight guard can use `checks.rules` without
loading the checks the engine runs.
"""
