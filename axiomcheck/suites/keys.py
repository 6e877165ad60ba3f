"""The keys a suite file may hold, and what each takes (the words of every "unknown key" message).

The settings a `[suite]` table gives its items and an `[[item]]` may override are one table,
`SETTINGS`, so the two cannot drift apart.
"""

from __future__ import annotations

from ..frontends import options as O

#: Settings of a run: in `[suite]` (for every item) and in `[[item]]` (for that item).
SETTINGS = {
    "seed": "an integer ≥ 0",
    "max_examples": "an integer ≥ 0",
    "tolerance": "a number ≥ 0",
    "timeout": "a number of seconds > 0 and ≤ 86400",
    "isolate": "true or false: run the operator(s) in a separate process",
    "certify": "true or false: add certified verdicts beside the sampled ones",
    "domain": "a table of input boxes for certified checks, like { context = [-10, 10] }",
    "certify_gap": "a number > 0: the relative gap at which the certifier stops refining",
    "certify_time": "a number of seconds > 0: the certifier's time budget per operator",
}
SUITE_KEYS = {"name": "a string", "description": "a string", **SETTINGS, "world": "a table of world sizes"}
ITEM_KEYS = {
    "id": "a string naming the item (default: the operator)",
    "operator": "an operator: a registered name, 'module:attr' or 'file.py:attr'",
    "compose": "a list of operators to compose (product-then-normalize)",
    "description": "a string",
    "spec": "a table of declared-spec overrides",
    "world": "a table of world sizes",
    "axioms": "a list of axiom ids",
    "expect": "a table of axiom id = 'pass' | 'fail' | 'error' | 'skipped'",
    **SETTINGS,
}
WORLD_KEYS = O.world_fields()
SPEC_KEYS = {"bounds": "[w_min, w_max]", "lipschitz": "a number ≥ 0", "safety": "a table"}
SAFETY_KEYS = {"tokens": "a list of token ids", "order": "a list of teacher indices, safest first",
                "pairs": "a list of [better, worse] teacher pairs"}
