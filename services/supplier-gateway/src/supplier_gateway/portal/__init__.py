"""The supplier portal: server-rendered pages for suppliers with no API."""
