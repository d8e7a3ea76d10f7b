"""Offline bundles (issue 26): everything an organisation may download, its license
files, ring approvals and the TUF metadata of its products, in signed parts that carry
it to a site without a connection to the vendor."""
