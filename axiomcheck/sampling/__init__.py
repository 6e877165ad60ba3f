"""Stage 2, sampling: the inputs each scale's operator is called on.

One `Domain` per scale (Hypothesis strategies for the search, sweep families for the
fixed grid), large-vocabulary recipes, and the byte budget that sizes each batch.
"""
