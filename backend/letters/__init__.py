"""Letters: templates as data, rendered to PDF/A and kept write-once by SHA-256."""
