"""Jobs that measure: ``eval swap`` / ``motion`` / ``gan`` / ``detector`` (and cross-method
training), each loading pipelines or detectors, scoring with :mod:`twoface.metrics`' pure
functions, and writing its report."""
