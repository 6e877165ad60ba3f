"""Stage 3, calling user code: the sandbox (copies in and out, a time limit, process
isolation), the conversion to and from each framework's arrays, and optional extras.
"""
