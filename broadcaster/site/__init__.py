"""The static site: page, incident pages, feeds and summary.json, built from the store."""
