"""The server's own metrics, scraped during a run (chaoslib_ext.scrape.scraper); read back per phase by
chaoslib_ext.metrics.server."""
