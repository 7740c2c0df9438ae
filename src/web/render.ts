/**
 * Server-side rendering with Eta. Templates are embedded (src/generated/embedded.ts) and loaded
 * by name as "@pages/home", "@layouts/base", "@partials/flash". Interpolations are escaped
 * (autoEscape); raw output (`<%~`) is only used for rendered template bodies, never user strings.
 */
import { Eta } from "eta/core";
import { assets, views } from "../generated/embedded.ts";

export interface NavItem {
  href: string;
  label: string;
  current?: boolean;
  /** A count shown beside the label (open alerts). */
  badge?: number;
}

export interface Flash {
  kind: "success" | "error" | "warning" | "info";
  message: string;
}

export interface PageData {
  title?: string;
  user?: { name: string; role: string } | null;
  flash?: Flash[];
  /** The session's CSRF token, put into every form (and the layout's sign-out form). */
  csrf?: string | null;
  [key: string]: unknown;
}

export function createRenderer(options: { version: string }) {
  const eta = new Eta({ autoEscape: true, cache: true, autoTrim: [false, "nl"] });
  for (const [name, text] of Object.entries(views)) eta.loadTemplate(`@${name}`, text);

  const nav = (path: string, user: PageData["user"], unread = 0): NavItem[] => {
    if (!user) return [];
    const items: NavItem[] = [
      { href: "/dashboard", label: "Dashboard" },
      { href: "/alerts", label: "Alerts", ...(unread > 0 ? { badge: unread } : {}) },
      { href: "/destinations", label: "Destinations" },
      { href: "/configs", label: "Backup jobs" },
      { href: "/backups", label: "Runs" },
      { href: "/snapshots", label: "Snapshots" },
      { href: "/reports", label: "Reports" },
      { href: "/settings/profile", label: "Profile" },
      { href: "/settings/notifications", label: "Notifications" },
    ];
    if (user.role === "admin") {
      items.push(
        { href: "/admin/users", label: "Users" },
        { href: "/admin/settings", label: "Settings" },
        { href: "/admin/audit", label: "Audit log" },
      );
    }
    const here = path === "/" ? "/dashboard" : path;
    return items.map((i) => ({ ...i, current: i.href === here }));
  };

  return {
    /** Renders a page template inside its layout. `path` marks the current nav item. */
    page(template: string, data: PageData, path = "/"): string {
      return eta.render(`@pages/${template}`, {
        ...data,
        nav: nav(path, data.user ?? null, typeof data.alertsUnread === "number" ? data.alertsUnread : 0),
        version: options.version,
        asset: assetUrl,
        date: formatDate,
      });
    },
    /** Renders a partial alone (for htmx swaps). */
    partial(template: string, data: Record<string, unknown>): string {
      return eta.render(`@partials/${template}`, { ...data, asset: assetUrl });
    },
  };
}

export type Renderer = ReturnType<typeof createRenderer>;

/** "/static/<hash>/app.css": the hash changes with the content, so the URL can be cached forever. */
export function assetUrl(name: string): string {
  const asset = assets[name];
  if (!asset) throw new Error(`unknown asset ${name}`);
  return `/static/${asset.hash}/${name}`;
}

/** "2026-01-02 13:45 UTC" for tables; "—" for null. */
export function formatDate(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "—";
  return `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}
