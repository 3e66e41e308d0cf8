#!/bin/sh
# Prints $2 (if given) and exits with status $1.
if [ -n "$2" ]; then echo "$2"; fi
exit "$1"
