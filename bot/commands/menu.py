"""`tousu menu push`: create the Official Account's custom menu (自定义菜单) through the API.

Three click buttons whose keys the router knows (handlers/router.py): 我要投诉 (COMPLAIN), 进度查询 (STATUS),
常见问题 (FAQ). A menu change shows up for followers within minutes (WeChat caches menus per client).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from handlers.router import MENU_COMPLAIN, MENU_FAQ, MENU_STATUS

#: Button labels: at most 4 Chinese characters each for a top-level button (menu/create rules).
MENU: dict[str, Any] = {
    "button": [
        {"type": "click", "name": "我要投诉", "key": MENU_COMPLAIN},
        {"type": "click", "name": "进度查询", "key": MENU_STATUS},
        {"type": "click", "name": "常见问题", "key": MENU_FAQ},
    ]
}


@click.group()
def menu() -> None:
    """The Official Account's custom menu (自定义菜单)."""


@menu.command("push")
@click.option("--dry-run", is_flag=True, help="Print the menu JSON instead of sending it.")
def push(dry_run: bool) -> None:
    """Create the menu 我要投诉 / 进度查询 / 常见问题 (replaces the account's current menu)."""
    if dry_run:
        click.echo(json.dumps(MENU, ensure_ascii=False, indent=2))
        return
    import requests
    from wechatpy.exceptions import WeChatClientException

    from bot.channels.wechat import official_account_client
    from bot.commands import settings_or_exit

    settings = settings_or_exit()
    client = official_account_client(settings)
    if client is None:
        click.echo("tousu: WECHAT_SECRET is not set; the menu can only be pushed with the AppSecret", err=True)
        sys.exit(2)
    try:
        result = client.create_menu(MENU)
    except (WeChatClientException, requests.RequestException) as exc:
        click.echo(f"tousu: menu/create failed: {exc}", err=True)
        sys.exit(1)
    errcode = int(result.get("errcode", 0) or 0)
    if errcode:
        click.echo(f"tousu: menu/create failed: errcode {errcode} {result.get('errmsg', '')}", err=True)
        sys.exit(1)
    names = " / ".join(button["name"] for button in MENU["button"])
    click.echo(f"菜单已创建：{names}")
