#!/bin/sh
# A status line, then 100 MB more output.
echo "BIG OK | lines=1"
yes | head -c 100000000
echo "tail line | after=1"
exit 0
