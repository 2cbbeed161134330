"""``dropship``: run, serve, migrate, and manage shops and API keys.

The CLI writes straight into the services' databases, so it works while the system runs
and its changes take effect at once (nothing is cached across requests)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer

from dropship_common.settings import SERVICE_NAMES, Settings

app = typer.Typer(help="Dropshipping fulfilment platform.", no_args_is_help=True)
shop_app = typer.Typer(help="Storefronts served by this deployment.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys for the admin and operator API.", no_args_is_help=True)
contracts_app = typer.Typer(help="Integration event contracts.", no_args_is_help=True)
supplier_app = typer.Typer(help="Dropship suppliers.", no_args_is_help=True)
secrets_app = typer.Typer(help="The secrets stored encrypted (keys, tokens).", no_args_is_help=True)
tracking_app = typer.Typer(
    help="Tracking provider accounts of logistics (17TRACK, AfterShip).", no_args_is_help=True
)
config_app = typer.Typer(help="The settings (DROPSHIP_* variables).", no_args_is_help=True)
app.add_typer(shop_app, name="shop")
app.add_typer(supplier_app, name="supplier")
app.add_typer(apikey_app, name="apikey")
app.add_typer(contracts_app, name="contracts")
app.add_typer(secrets_app, name="secrets")
app.add_typer(config_app, name="config")
app.add_typer(tracking_app, name="tracking-account")


def _service(name: str) -> str:
    if name not in SERVICE_NAMES:
        raise typer.BadParameter(f"one of {', '.join(SERVICE_NAMES)}")
    return name


@app.command()
def run() -> None:
    """Run all four services in one process (embedded mode: SQLite + embedded bus)."""
    from dropship_cli.embedded import PortBusy, run_embedded

    settings = Settings()
    if settings.mode != "embedded":
        raise typer.BadParameter("`dropship run` is the embedded mode; use `dropship serve`")
    try:
        asyncio.run(run_embedded(settings))
    except PortBusy as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


@app.command()
def serve(
    service: Annotated[str, typer.Argument(callback=_service)],
    migrate: Annotated[bool, typer.Option(help="apply migrations first")] = False,
    role: Annotated[
        str | None,
        typer.Option(help="all (default) | api (HTTP only) | worker (background work only)"),
    ] = None,
) -> None:
    """Run one service (distributed mode: PostgreSQL + RabbitMQ, from DROPSHIP_* env)."""
    import uvicorn

    from dropship_cli.services import APP_FACTORIES, migrations_dir
    from dropship_common.migrate import upgrade_sync
    from dropship_common.runtime import tune_gc

    settings = Settings(service=service).for_service(service)
    if role is not None:
        if role not in ("all", "api", "worker"):
            raise typer.BadParameter("all, api or worker")
        settings = settings.model_copy(update={"role": role})
    _install_keyring(settings)  # a clear error without a key; migrations encrypt with it
    if migrate:
        upgrade_sync(migrations_dir(service), settings.db_url)
    service_app = APP_FACTORIES[service](settings)
    tune_gc()
    uvicorn.run(
        service_app,
        host=settings.host,
        port=settings.port or 0,
        log_config=None,
        access_log=False,
    )


@app.command()
def migrate(
    service: Annotated[
        list[str] | None, typer.Option("--service", "-s", help="default: every service")
    ] = None,
) -> None:
    """Apply the database migrations of the services."""
    from dropship_cli.services import migrations_dir
    from dropship_common.migrate import upgrade_sync

    settings = Settings()
    _install_keyring(settings)  # the migrations that encrypt stored secrets need it
    for name in service or SERVICE_NAMES:
        _service(name)
        url = settings.for_service(name).db_url
        upgrade_sync(migrations_dir(name), url)
        typer.echo(f"{name}: migrated")


def _install_keyring(settings: Settings) -> None:
    from dropship_common import secretbox

    try:
        secretbox.install(secretbox.keyring_for(settings))
    except secretbox.SecretKeyError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


@secrets_app.command("rotate")
def secrets_rotate() -> None:
    """Re-encrypt every stored secret under the current DROPSHIP_SECRET_KEY.

    Run it after restarting every process with the new DROPSHIP_SECRET_KEY and the old
    key in DROPSHIP_PREVIOUS_SECRET_KEYS; then the old key can be dropped. Safe to run
    again: values already under the current key are left alone."""
    from dropship_cli.rotation import rotate_secrets
    from dropship_common import secretbox

    settings = Settings()
    _install_keyring(settings)
    try:
        changed = asyncio.run(rotate_secrets(settings, secretbox.keyring()))
    except secretbox.SecretUnreadable as exc:
        typer.echo(f"error: {exc}; nothing was changed in that database", err=True)
        raise typer.Exit(1) from exc
    for name, rows in changed.items():
        typer.echo(f"{name}: {rows} rows re-encrypted")


@shop_app.command("add")
def shop_add(
    platform: Annotated[str, typer.Option(help="shopify | woocommerce | custom")],
    domain: Annotated[str, typer.Option(help="e.g. my-shop.myshopify.com")],
    webhook_secret: Annotated[str, typer.Option(help="the secret the storefront signs with")],
    name: Annotated[str | None, typer.Option()] = None,
    payment_window_days: Annotated[int, typer.Option()] = 20,
    language: Annotated[str, typer.Option(help="buyer messages: en, zh")] = "en",
    handling_days: Annotated[int, typer.Option()] = 3,
    credentials_file: Annotated[
        Path | None,
        typer.Option(
            help="JSON file with the shop's admin API credentials (Shopify: access_token;"
            " WooCommerce: consumer_key, consumer_secret): fulfilment write-back, order"
            " reconciliation and webhook repair; a file, so that secrets stay out of the"
            " shell history",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Register a storefront; prints the new shop's id. With credentials, its webhook
    subscriptions are checked (and repaired) at once: the result goes to stderr."""
    import structlog

    from dropship_cli.admin import add_shop
    from dropship_common.observability import StderrLogger

    # stdout carries the shop's id alone (scripts read it); the check's logs go to the
    # current stderr (not the one of this moment: a test runner replaces and closes it)
    structlog.configure(logger_factory=StderrLogger.factory)
    credentials = None
    if credentials_file is not None:
        try:
            credentials = json.loads(credentials_file.read_text())
        except ValueError as exc:
            raise typer.BadParameter(f"{credentials_file} is not JSON: {exc}") from exc
    shop_id, health = asyncio.run(
        add_shop(
            Settings(),
            dict(
                platform=platform,
                domain=domain,
                webhook_secret=webhook_secret,
                name=name,
                payment_window_days=payment_window_days,
                buyer_language=language,
                handling_days=handling_days,
                admin_credentials=credentials,
            ),
        )
    )
    if health is not None:
        typer.echo(f"webhooks: {health.status}", err=True)
        for line in health.repairs + health.problems:
            typer.echo(f"  {line}", err=True)
    typer.echo(shop_id)


@shop_app.command("list")
def shop_list() -> None:
    """List the storefronts (JSON lines)."""
    from dropship_cli.admin import list_shops

    for shop in asyncio.run(list_shops(Settings())):
        typer.echo(json.dumps(shop))


@supplier_app.command("add")
def supplier_add(
    name: Annotated[str, typer.Option()],
    adapter: Annotated[str, typer.Option(help="cjdropshipping | http | portal")],
    handling_days: Annotated[int, typer.Option(help="business days to ship, 1-3")],
    contact_email: Annotated[str | None, typer.Option()] = None,
    ship_from: Annotated[str, typer.Option(help="ISO country the parcels leave")] = "CN",
    holiday_country: Annotated[str, typer.Option(help="whose holidays count")] = "CN",
    credentials_file: Annotated[
        Path | None,
        typer.Option(
            help="JSON file with the adapter's credentials (CJ: api_key, logistic_name, …;"
            " http: url, secret); a file, so that secrets stay out of the shell history",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Register a supplier; prints its id."""
    from dropship_cli.admin import add_supplier
    from dropship_common.errors import ValidationFailed

    credentials = None
    if credentials_file is not None:
        try:
            credentials = json.loads(credentials_file.read_text())
        except ValueError as exc:
            raise typer.BadParameter(f"{credentials_file} is not JSON: {exc}") from exc
    try:
        supplier_id = asyncio.run(
            add_supplier(
                Settings(),
                dict(
                    name=name,
                    adapter=adapter,
                    handling_days=handling_days,
                    contact_email=contact_email,
                    ship_from_country=ship_from,
                    holiday_country=holiday_country,
                    credentials=credentials,
                ),
            )
        )
    except ValidationFailed as exc:
        typer.echo(f"error: {exc.message}: {json.dumps(exc.details)}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(supplier_id)


@tracking_app.command("add")
def tracking_account_add(
    provider: Annotated[str, typer.Option(help="17track | aftership")],
    label: Annotated[str, typer.Option()],
    credentials_file: Annotated[
        Path,
        typer.Option(
            help='JSON file {"api_key": …, "webhook_secret": … (AfterShip)}: a file, so'
            " that secrets stay out of the shell history",
            exists=True,
            dir_okay=False,
        ),
    ],
    shop: Annotated[str | None, typer.Option(help="the shop it serves (default: all)")] = None,
    default: Annotated[bool, typer.Option(help="new parcels of its scope use it")] = True,
) -> None:
    """Add a provider account; prints its id (the push URL is
    /webhooks/<provider>/<id> on logistics)."""
    from pydantic import ValidationError

    from dropship_cli.admin import add_tracking_account

    try:
        credentials = json.loads(credentials_file.read_text())
    except ValueError as exc:
        raise typer.BadParameter(f"{credentials_file} is not JSON: {exc}") from exc
    if not isinstance(credentials, dict):
        raise typer.BadParameter(f"{credentials_file}: a JSON object is expected")
    data = {"provider": provider, "label": label, "shop_id": shop, "default": default}
    try:
        account_id = asyncio.run(add_tracking_account(Settings(), {**credentials, **data}))
    except ValidationError as exc:
        typer.echo(f"error: {exc.errors()[0]['msg']} ({exc.errors()[0]['loc']})", err=True)
        raise typer.Exit(2) from exc
    typer.echo(account_id)


@apikey_app.command("create")
def apikey_create(
    role: Annotated[str, typer.Option(help="admin | operator")],
    label: Annotated[str | None, typer.Option()] = None,
    shop: Annotated[
        list[str] | None,
        typer.Option(help="an operator key sees only this shop (repeat for several)"),
    ] = None,
) -> None:
    """Create a key (valid on every service whose database is configured); printed once."""
    from dropship_cli.admin import create_key

    if role not in ("admin", "operator"):
        raise typer.BadParameter("admin or operator")
    if shop and role != "operator":
        raise typer.BadParameter("only an operator key can be limited to shops")
    key, services = asyncio.run(create_key(Settings(), role, label, shop or None))
    typer.echo(key)
    typer.echo(f"# valid on: {', '.join(services)}", err=True)


@apikey_app.command("list")
def apikey_list() -> None:
    """Every key (id, role, label, shops, created, last used, expiry, revoked), by service."""
    from dropship_cli.admin import list_api_keys

    by_service = asyncio.run(list_api_keys(Settings()))
    for service, keys in by_service.items():
        for k in keys:
            shops = ",".join(k["shops"]) if k["shops"] is not None else "*"
            typer.echo(
                f"{service}\t{k['id']}\t{k['role']}\t{k['label'] or ''}\t{shops}"
                f"\tcreated={k['created_at']}\tlast_used={k['last_used_at'] or '-'}"
                f"\texpires={k['expires_at'] or '-'}\trevoked={k['revoked_at'] or '-'}"
            )


@apikey_app.command("revoke")
def apikey_revoke(key_id: Annotated[str, typer.Argument()]) -> None:
    """Revoke KEY_ID in every configured service: refused from the next request on."""
    from dropship_cli.admin import revoke_key

    found = asyncio.run(revoke_key(Settings(), key_id))
    if not found:
        typer.echo(f"error: no API key {key_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id} on: {', '.join(found)}")


@contracts_app.command("export")
def contracts_export(
    directory: Annotated[Path, typer.Argument()] = Path("docs/events"),
) -> None:
    """Write the event catalogue (README.md), the envelope's and each event's JSON Schema
    to DIRECTORY."""
    from dropship_cli.event_catalogue import files

    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files().items():
        (directory / name).write_text(text)
        typer.echo(directory / name)


if __name__ == "__main__":  # pragma: no cover
    app()


@config_app.command("table")
def config_table(
    write: Annotated[
        Path | None, typer.Option(help="rewrite the generated block of this file (README.md)")
    ] = None,
) -> None:
    """The configuration tables (Markdown), generated from the settings classes."""
    from dropship_cli.config_table import render, rewrite

    if write is None:
        typer.echo(render())
    else:
        typer.echo(f"{write}: {'updated' if rewrite(write) else 'unchanged'}")
