"""The page shell: templates, static assets, locale and request plumbing."""
