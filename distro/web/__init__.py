"""The web pages' shared parts: page kit, start page, admin pages, i18n, templates
and static files."""
