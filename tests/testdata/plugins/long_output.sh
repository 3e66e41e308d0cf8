#!/bin/sh
# Nagios long output with perfdata on the first and later lines.
echo "DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968"
echo "/ 15272 MB (77%);"
echo "/boot 68 MB (69%); | 'boot partition'=68MB;88;93;0;98"
echo "rta=12.5ms pl=0%;20;60 load=U"
exit 1
