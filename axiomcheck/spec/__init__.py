"""Stage 1, the specification: what an operator is and what it is checked against.

`Operator` and its decorators, the `Scale` records, the `World` sizes and their one
precedence, keyword inputs, parameter sets, declared boxes, the registry's store of names, and
`compose` (product-then-normalize). Nothing here samples, calls user code or decides.
"""
