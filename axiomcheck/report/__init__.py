"""Stage 5, results as plain data: `Result`, `Report`, typed estimates, the one place a
status is decided from evidence (`decision`), reproduction commands, the paper link,
saved counterexamples and baselines. Rendering them is `axiomcheck.output`'s job.
"""
