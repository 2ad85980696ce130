# Two commands: `make run` (the product, embedded defaults) and `make test` (the whole suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: install run serve test pytest lint format migrations-check deploy-check worker beat bench clean messages

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

install: $(STAMP)

## run: install, migrate, seed the demo hotel and serve HTTP + websockets on http://localhost:8000
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py nlu train
	$(BIN)/python manage.py seed_demo
	$(MAKE) --no-print-directory serve

serve:
	@echo "Serving on http://localhost:$(PORT)  (Ctrl+C to stop)"
	LOG_FORMAT=$${LOG_FORMAT:-console} $(BIN)/daphne -b $(HOST) -p $(PORT) hotel_agent.asgi:application

## test: lint, migration drift, production settings check, then the pytest suite
test: install lint migrations-check
	$(BIN)/python manage.py nlu train
	$(BIN)/python -m pytest $(PYTEST_ARGS)

pytest: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrations-check: install
	$(BIN)/python manage.py makemigrations --check --dry-run

worker: install
	$(BIN)/celery -A hotel_agent worker -l info

beat: install
	$(BIN)/celery -A hotel_agent beat -l info

messages: install
	cd $(CURDIR) && $(BIN)/python manage.py makemessages -l es -l en -l pt --ignore=.venv --ignore=tests --ignore=bench
	$(BIN)/python manage.py compilemessages --ignore=.venv

bench: install
	$(BIN)/python bench/webhook_ingest.py

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache .ruff_cache
