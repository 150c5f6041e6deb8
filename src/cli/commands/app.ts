/**
 * `gskit app`: application IDs, the counterpart of IBM i DCM application definitions, kept in the
 * registry beside the system store. Labels are checked against the system store when it exists.
 */
import { ApplicationRegistry } from "../../registry/registry.js";
import type { ApplicationDefinition, ApplicationType, ClientAuthPolicy } from "../../registry/application.js";
import type { StoreLabels } from "../../registry/registry.js";
import type { SystemStoreLocation } from "../../registry/locations.js";
import { openStore } from "../../keystore/edit.js";
import { RC } from "../../codes.js";
import { GskError } from "../../errors.js";
import { EXIT_OK, fileExists, integer, list, need, oneOf, parseOptions, printFields, printJson, printTable, runGroup, systemLocation, UsageError, type Action, type CliContext } from "../io.js";

const TYPES: readonly ApplicationType[] = ["client", "server"];
const CLIENT_AUTH: readonly ClientAuthPolicy[] = ["none", "optional", "required"];

/** The settings `register` and `set` share. */
const SETTINGS = {
  description: { type: "string" },
  "client-auth": { type: "string" },
  protocols: { type: "string" },
  ciphers: { type: "string" },
  "allowed-peer-names": { type: "string" },
  "session-lifetime": { type: "string" },
} as const;

function settingsOf(values: { description?: string; "client-auth"?: string; protocols?: string; ciphers?: string; "allowed-peer-names"?: string; "session-lifetime"?: string }): Partial<ApplicationDefinition> {
  const lifetime = values["session-lifetime"];
  return {
    description: values.description,
    clientAuth: oneOf(values["client-auth"], "client-auth", CLIENT_AUTH),
    protocols: list(values.protocols) as ApplicationDefinition["protocols"] | undefined,
    ciphers: list(values.ciphers),
    allowedPeerNames: list(values["allowed-peer-names"]),
    sessionLifetime: lifetime === "default" ? null : integer(lifetime, "session-lifetime", 0, 86_400),
  };
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

async function registryOf(context: CliContext, dir: string | undefined): Promise<{ registry: ApplicationRegistry; location: SystemStoreLocation }> {
  const location = systemLocation(context, dir);
  return { registry: await ApplicationRegistry.load(location.registryFile), location };
}

/** The system store's labels, to check assignments against; the store must exist when labels are named. */
async function storeLabels(location: SystemStoreLocation): Promise<StoreLabels> {
  if (!(await fileExists(location.storeFile))) {
    throw new GskError(RC.GSK_KEYRING_OPEN_ERROR, `the system store ${location.storeFile} does not exist, so labels cannot be checked: create it with gskit system init`);
  }
  const store = await openStore(location.storeFile, { stashFile: location.stashFile });
  return {
    personal: store.entries.filter((e) => store.personalLabels.has(e.label)).map((e) => e.label),
    ca: store.entries.filter((e) => !store.personalLabels.has(e.label)).map((e) => e.label),
  };
}

function printDefinition(context: CliContext, d: ApplicationDefinition): void {
  printFields(context.stdout, [
    ["id", d.id],
    ["type", d.type],
    ["description", d.description || "(none)"],
    ["certificates", d.certificates.join(", ") || "(none assigned)"],
    ["trust list", d.trustList === null || d.trustList.length === 0 ? "(all enabled CAs of the system store)" : d.trustList.join(", ")],
    ["client auth", d.clientAuth],
    ["peer names", d.allowedPeerNames.join(", ") || "(any)"],
    ["protocols", d.protocols.join(", ") || "(default: TLSv1.2, TLSv1.3)"],
    ["ciphers", d.ciphers.join(", ") || "(default)"],
    ["session life", d.sessionLifetime === null ? "(default)" : `${String(d.sessionLifetime)} s`],
  ]);
}

const ID = { id: { type: "string" }, dir: { type: "string" } } as const;

const register: Action = {
  usage: `register --id ID --type client|server [--description TEXT] [--client-auth none|optional|required] [--label L[,L2…]] [--ca L1,L2…] [--protocols TLSv1.2,TLSv1.3] [--ciphers …] [--allowed-peer-names …] [--session-lifetime SECONDS] [--dir D]
  Defines an application ID. IDs: a letter, then letters, digits, '.' and '_' (up to 100).`,
  async run(context, argv) {
    const { values } = parseOptions(argv, { ...ID, ...SETTINGS, type: { type: "string" }, label: { type: "string" }, ca: { type: "string" } });
    const id = need(values, "id");
    const type = oneOf(need(values, "type"), "type", TYPES) as ApplicationType;
    const { registry, location } = await registryOf(context, values.dir);
    const certificates = list(values.label);
    const trustList = list(values.ca);
    const labels = certificates !== undefined || trustList !== undefined ? await storeLabels(location) : undefined;
    const definition = await registry.register({ id, type, ...withoutUndefined({ ...settingsOf(values), certificates, trustList }) }, { storeLabels: labels });
    context.stdout.write(`registered ${definition.type} application '${definition.id}' in ${registry.file}\n`);
    return EXIT_OK;
  },
};

const assign: Action = {
  usage: `assign --id ID --label L[,L2…] [--dir D]
  Sets the certificates (personal entries of the system store, at most four) the application
  presents; one is chosen per handshake by SNI name and key type. --label "" removes them all.`,
  async run(context, argv) {
    const { values } = parseOptions(argv, { ...ID, label: { type: "string" } });
    const id = need(values, "id");
    if (values.label === undefined) throw new UsageError("missing --label");
    const { registry, location } = await registryOf(context, values.dir);
    const labels = list(values.label) ?? [];
    const definition = await registry.assign(id, labels, { storeLabels: labels.length > 0 ? await storeLabels(location) : undefined });
    context.stdout.write(`'${definition.id}' presents ${definition.certificates.length > 0 ? definition.certificates.map((l) => `'${l}'`).join(", ") : "no certificate"}\n`);
    return EXIT_OK;
  },
};

const trust: Action = {
  usage: `trust --id ID (--ca L1,L2… | --all) [--dir D]
  Sets the application's CA trust list (CA entries of the system store); --all removes it, so
  every enabled CA of the system store is trusted.`,
  async run(context, argv) {
    const { values } = parseOptions(argv, { ...ID, ca: { type: "string" }, all: { type: "boolean" } });
    const id = need(values, "id");
    if ((values.ca === undefined) === (values.all !== true)) throw new UsageError("give either --ca L1,L2… or --all");
    const { registry, location } = await registryOf(context, values.dir);
    const labels = values.all === true ? null : (list(values.ca) ?? []);
    const definition = await registry.trust(id, labels, { storeLabels: labels !== null && labels.length > 0 ? await storeLabels(location) : undefined });
    const trusted = definition.trustList === null || definition.trustList.length === 0 ? "every enabled CA of the system store" : definition.trustList.map((l) => `'${l}'`).join(", ");
    context.stdout.write(`'${definition.id}' trusts ${trusted}\n`);
    return EXIT_OK;
  },
};

const show: Action = {
  usage: `show --id ID [--json] [--dir D]
  Shows an application definition.`,
  async run(context, argv) {
    const { values } = parseOptions(argv, { ...ID, json: { type: "boolean" } });
    const { registry } = await registryOf(context, values.dir);
    const definition = registry.lookup(need(values, "id"));
    if (values.json === true) printJson(context.stdout, definition);
    else printDefinition(context, definition);
    return EXIT_OK;
  },
};

const listAction: Action = {
  usage: `list [--json] [--dir D]
  Lists the application IDs.`,
  async run(context, argv) {
    const { values } = parseOptions(argv, { dir: { type: "string" }, json: { type: "boolean" } });
    const { registry } = await registryOf(context, values.dir);
    const definitions = registry.list();
    if (values.json === true) printJson(context.stdout, definitions);
    else printTable(context.stdout, ["ID", "TYPE", "CERTIFICATES", "DESCRIPTION"], definitions.map((d) => [d.id, d.type, d.certificates.join(",") || "-", d.description]));
    return EXIT_OK;
  },
};

const remove: Action = {
  usage: `remove --id ID [--dir D]
  Removes an application definition (the certificates stay in the system store).`,
  async run(context, argv) {
    const { values } = parseOptions(argv, ID);
    const id = need(values, "id");
    const { registry } = await registryOf(context, values.dir);
    await registry.remove(id);
    context.stdout.write(`removed application '${id}'\n`);
    return EXIT_OK;
  },
};

const set: Action = {
  usage: `set --id ID [--description TEXT] [--client-auth none|optional|required] [--protocols TLSv1.2,TLSv1.3] [--ciphers TLS_…] [--allowed-peer-names dns:…,ip:…] [--session-lifetime SECONDS|default] [--dir D]
  Changes settings of an application; settings not named keep their value. An empty list
  ("") restores the default.`,
  async run(context, argv) {
    const { values } = parseOptions(argv, { ...ID, ...SETTINGS });
    const id = need(values, "id");
    const changes = withoutUndefined(settingsOf(values));
    if (Object.keys(changes).length === 0) throw new UsageError("nothing to change: name at least one setting");
    const { registry } = await registryOf(context, values.dir);
    const definition = await registry.update(id, changes);
    context.stdout.write(`updated application '${definition.id}'\n`);
    return EXIT_OK;
  },
};

export const APP_ACTIONS: Readonly<Record<string, Action>> = { register, assign, trust, show, list: listAction, remove, set };

export async function run(context: CliContext): Promise<number> {
  return runGroup(context, "app", "Application IDs: which system-store certificates an application presents, which CAs it trusts, its TLS settings.", APP_ACTIONS);
}
