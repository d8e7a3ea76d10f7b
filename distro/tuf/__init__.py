"""TUF repositories, one per product: signed metadata that lets installers verify the
update list itself (freeze, rollback, mix-and-match) and follow key rotations."""
