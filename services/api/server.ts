import { serve, type ServerType } from "@hono/node-server";
import { ConfigError } from "../common/config.js";

/** Starts listening; a port in use is a configuration error naming PORT, not a crash. */
export function listen(fetch: (req: Request) => Response | Promise<Response>, port: number, hostname: string) {
  return new Promise<ServerType>((resolve, reject) => {
    const server = serve({ fetch, port, hostname }, () => resolve(server));
    server.once("error", (err: NodeJS.ErrnoException) => {
      reject(
        err.code === "EADDRINUSE"
          ? new ConfigError(`PORT: port ${port} is already in use on ${hostname}; choose another PORT.`)
          : err,
      );
    });
  });
}

export function closeServer(server: ServerType): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
