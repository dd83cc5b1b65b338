import { h } from "./dom.js";

// sessionStorage: the key lives as long as the tab, is never put in a URL, and is not shared with other tabs.
const KEY = "rag.apiKey";

/** An API error in the service's one shape `{error: {code, message, requestId}}`. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const storedKey = () => sessionStorage.getItem(KEY);
export const forgetKey = () => sessionStorage.removeItem(KEY);

let asking: Promise<void> | null = null;

/** Asks for an API key once (concurrent 401s share one dialog) and keeps it for the tab. */
function askForKey(reason: string): Promise<void> {
  asking ??= new Promise<void>((resolve) => {
    const input = h("input", {
      attrs: { type: "password", id: "api-key", autocomplete: "off", required: "", spellcheck: "false" },
    });
    const dialog = h(
      "dialog",
      { class: "key-dialog", attrs: { "aria-labelledby": "key-title" } },
      h(
        "form",
        {
          on: {
            submit: (ev) => {
              ev.preventDefault();
              const key = input.value.trim();
              if (!key) {
                return;
              }
              sessionStorage.setItem(KEY, key);
              dialog.close();
              dialog.remove();
              asking = null;
              resolve();
            },
          },
        },
        h("h2", { attrs: { id: "key-title" } }, "API key"),
        h("p", {}, reason),
        h("label", { attrs: { for: "api-key" } }, "Key (kept for this tab only)"),
        input,
        h("button", { attrs: { type: "submit" } }, "Use key"),
      ),
    );
    // Escape would leave the app without a key and nothing to retry with.
    dialog.addEventListener("cancel", (ev) => ev.preventDefault());
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
  return asking;
}

/** fetch() against the API with the tab's key; a 401 asks for a key and tries again. */
export async function api(path: string, init: RequestInit = {}): Promise<Response> {
  for (;;) {
    const headers = new Headers(init.headers);
    const key = storedKey();
    if (key) {
      headers.set("Authorization", `Bearer ${key}`);
    }
    const res = await fetch(path, { ...init, headers });
    if (res.status !== 401) {
      return res;
    }
    const body = await errorOf(res);
    if (key) {
      forgetKey();
    }
    await askForKey(key ? `That key was refused: ${body.message}` : "This service needs an API key.");
  }
}

async function errorOf(res: Response): Promise<ApiFailure> {
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    return new ApiFailure(res.status, body.error?.code ?? "error", body.error?.message ?? res.statusText);
  } catch {
    return new ApiFailure(res.status, "error", `${res.status} ${res.statusText}`);
  }
}

/** GET (or send) JSON; a non-2xx answer throws ApiFailure with the service's message. */
export async function json<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await api(path, init);
  if (!res.ok) {
    throw await errorOf(res);
  }
  return (await res.json()) as T;
}

export const postJson = <T>(path: string, body: unknown) =>
  json<T>(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

export { errorOf };

/** What the key may do (GET /whoami). */
export interface Who {
  authentication: boolean;
  keyId: string | null;
  scopes: string[];
  collections: string[];
  allCollections: boolean;
  admin: boolean;
}
