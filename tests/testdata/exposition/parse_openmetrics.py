#!/usr/bin/python3
"""Parses an OpenMetrics exposition (stdin) with python3-prometheus-client's
strict parser; prints one line per sample (name, sorted labels, value,
exemplar) so a test can assert on what a real parser read, or the parser's
error and exit status 1."""
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families


def main():
    text = sys.stdin.read()
    try:
        families = list(text_string_to_metric_families(text))
    except Exception as error:  # the parser raises ValueError and friends
        print(f"parse error: {error!r}")
        return 1
    for family in families:
        print(f"family {family.name} {family.type} unit={family.unit!r} help={family.documentation!r}")
        for sample in family.samples:
            labels = ",".join(f"{k}={v!r}" for k, v in sorted(sample.labels.items()))
            line = f"  {sample.name}{{{labels}}} {sample.value!r}"
            if sample.exemplar:
                ex = sample.exemplar
                ex_labels = ",".join(f"{k}={v!r}" for k, v in sorted(ex.labels.items()))
                line += f" exemplar{{{ex_labels}}} {ex.value!r}"
                if ex.timestamp is not None:
                    line += f" {ex.timestamp.sec}.{ex.timestamp.nsec:09d}"
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
