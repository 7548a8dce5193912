"""`GET /account/password`: the page an invite or reset link opens. Self-contained; the
token stays in the URL fragment (never sent to the server in a request line or a
Referer) and is posted to `/api/v1/auth/password-link`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="referrer" content="no-referrer"><title>Choose your password</title>
<style>body{font-family:sans-serif;max-width:24rem;margin:4rem auto;padding:0 1rem}
input,button{display:block;width:100%;margin:.5rem 0;padding:.5rem;font-size:1rem}</style>
</head><body><h1>Choose your password</h1>
<form id="f"><label>New password (at least 10 characters)
<input id="p" type="password" minlength="10" maxlength="200" required autocomplete="new-password">
</label><button>Save password</button></form><p id="m" role="status"></p>
<script>
const token = new URLSearchParams(location.hash.slice(1)).get("token") || "";
document.getElementById("f").addEventListener("submit", async (event) => {
  event.preventDefault();
  const say = (text) => { document.getElementById("m").textContent = text; };
  const answer = await fetch("/api/v1/auth/password-link", {
    // The token is the authority here: no session cookie (a signed-in browser's would
    // ask for a CSRF token this page does not have).
    method: "POST", headers: {"Content-Type": "application/json"}, credentials: "omit",
    body: JSON.stringify({token, password: document.getElementById("p").value}),
  });
  const data = await answer.json().catch(() => ({}));
  if (answer.ok) { say("Saved. You can sign in now at /agent/."); return; }
  say((data.error && data.error.message) || "Something went wrong; try again.");
});
</script></body></html>
"""


async def password_page(_request: Request) -> Response:
    return HTMLResponse(
        PAGE, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    )
