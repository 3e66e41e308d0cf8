#!/bin/sh
# Says why it fails only on stderr, as a plugin that cannot start would.
echo "error: cannot load library" >&2
echo "second stderr line" >&2
exit 3
