/**
 * A session's User-Agent header, read into what a "your devices" page shows. Parsing is bowser's (MIT,
 * maintained, no dependencies, typed): user-agent grammars change with every browser release, which is
 * what a maintained rule set is for. ua-parser-js was the other candidate; its 2.x line is AGPL-licensed.
 */
import Bowser from 'bowser';

export type DeviceType = 'desktop' | 'mobile' | 'tablet' | 'tv' | 'bot' | 'unknown';

export interface DeviceInfo {
  /** "Apple iPhone", or "Chrome on Windows" when the device has no name; null for no/unreadable header. */
  deviceName: string | null;
  deviceType: DeviceType;
  /** Browser (or client) name with its major version, e.g. "Chrome 120". */
  browser: string | null;
  /** Operating system with its version, e.g. "iOS 17.1" or "Windows 10". */
  os: string | null;
}

const TYPES = new Set<string>(['desktop', 'mobile', 'tablet', 'tv', 'bot']);
const UNKNOWN: DeviceInfo = { deviceName: null, deviceType: 'unknown', browser: null, os: null };

const join = (...parts: Array<string | undefined>) => parts.filter((p) => p).join(' ') || null;

/** Never throws: a header bowser cannot read gives nulls and `unknown`. */
export function parseUserAgent(header: string | null | undefined): DeviceInfo {
  if (!header) return UNKNOWN;
  let r: Bowser.Parser.ParsedResult;
  try {
    r = Bowser.parse(header);
  } catch {
    return UNKNOWN;
  }
  const browser = join(r.browser.name, r.browser.version?.split('.')[0]);
  // Windows reports its kernel version ("NT 10.0"); its marketing name ("10") is what people know.
  const os = join(r.os.name, r.os.name === 'Windows' ? r.os.versionName : r.os.version);
  const type = r.platform.type;
  const deviceType: DeviceType =
    type && TYPES.has(type) ? (type as DeviceType) : browser || os ? 'desktop' : 'unknown';
  // A vendor alone ("Apple" for any Mac) names no device; the browser and system say more.
  const deviceName = r.platform.model
    ? join(r.platform.vendor, r.platform.model)
    : r.browser.name && r.os.name
      ? `${r.browser.name} on ${r.os.name}`
      : r.browser.name || r.os.name || null;
  return { deviceName, deviceType, browser, os };
}
