"""Data in: the input format, generated data, reading and validating files, online and bulk ingest."""
