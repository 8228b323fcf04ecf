"""Demo producer of engine local: schema-valid events plus a share of malformed records, at a steady rate."""
