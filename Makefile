# Shortcuts over ./dev.sh; the README's two commands stay the entry points.
.PHONY: up test fuzz

up:
	./dev.sh up

test:
	./dev.sh test

# Nightly-style fuzzing: many more generated operations than CI's default of 150 per test.
fuzz:
	FUZZ_RANDOM=1 FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-3000} ./dev.sh test tests/service/test_fuzz.py
