/**
 * Writes docs/api.md from the source: the TypeScript compiler walks the exports of the two public
 * entries (`src/index.ts` for `gskit-tls`, `src/tools.ts` for `gskit-tls/tools`) and prints, for
 * each exported function, class, interface and type, its signature and its TSDoc (summary,
 * `@example`, `@defaultValue`, `@throws`). The hundreds of `GSK_*` / `GSKX_*` / `CERT_*` constants
 * are not repeated: docs/constants.md, docs/attributes.md and docs/return-codes.md list them.
 *
 * `npx tsx scripts/api-docs.ts` rewrites docs/api.md; `--check` exits 1 when it is stale (a test
 * compares `renderApiDocs()` with the file too). The output depends only on the source, never on
 * the machine, the time or the order files are read in.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

import ts from "typescript";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const OUTPUT = "docs/api.md";

/** The public entries, in the order they are documented. */
const ENTRIES: readonly { readonly file: string; readonly module: string; readonly intro: string }[] = [
  {
    file: "src/index.ts",
    module: "gskit-tls",
    intro:
      "The main entry: the `gsk_*` layer (IBM i's `gskssl.h`, call for call), the idiomatic Promise layer over the same core, and the error class.",
  },
  {
    file: "src/tools.ts",
    module: "gskit-tls/tools",
    intro: "Key stores, certificates and application IDs as a library: what the `gskit` CLI is built on.",
  },
];

/** Exported values that are constants of the generated tables: documented elsewhere. */
const CONSTANT_NAME = /^(GSK_|GSKX_|CERT_|GSKSECURESOC)/;

const FORMAT =
  ts.TypeFormatFlags.NoTruncation |
  ts.TypeFormatFlags.UseAliasDefinedOutsideCurrentScope;

/** One documented export: the name it is exported under and the symbol it stands for. */
interface ExportItem {
  readonly name: string;
  readonly symbol: ts.Symbol;
  readonly section: string;
  readonly typeOnly: boolean;
}

/** What the checker says about one public symbol, for the tests. */
export interface ApiSymbolInfo {
  /** `gskit-tls` or `gskit-tls/tools`. */
  readonly module: string;
  /** The exported name, or `Class.member` / `Interface.property` for members. */
  readonly name: string;
  readonly kind: "function" | "class" | "interface" | "type" | "method" | "property" | "accessor" | "variable";
  /** Source file of the declaration, relative to the repository (`src/api/session.ts`). */
  readonly file: string;
  /** Whether it has TSDoc text of its own. */
  readonly documented: boolean;
}

function createProgram(): ts.Program {
  const configPath = join(root, "tsconfig.json");
  const config = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p));
  if (config.error) throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, "\n"));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root, undefined, configPath);
  return ts.createProgram({
    rootNames: ENTRIES.map((e) => join(root, e.file)),
    options: { ...parsed.options, noEmit: true },
  });
}

function repoPath(fileName: string): string {
  return relative(root, fileName).split("\\").join("/");
}

function resolveAlias(checker: ts.TypeChecker, symbol: ts.Symbol): ts.Symbol {
  return symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
}

/**
 * The exports of an entry in source order, each with the section it is listed under: the
 * `// --- name ---` comment above its `export` statement.
 */
function exportsOf(checker: ts.TypeChecker, source: ts.SourceFile): ExportItem[] {
  const items: ExportItem[] = [];
  let section = "Exports";
  const text = source.getFullText();
  for (const statement of source.statements) {
    for (const range of ts.getLeadingCommentRanges(text, statement.getFullStart()) ?? []) {
      const comment = text.slice(range.pos, range.end);
      const match = /^\/\/ --- (.+?) ---/.exec(comment);
      if (match) section = match[1]!;
    }
    if (!ts.isExportDeclaration(statement) || !statement.exportClause || !ts.isNamedExports(statement.exportClause)) continue;
    for (const element of statement.exportClause.elements) {
      const name = element.name.text;
      const local = checker.getSymbolAtLocation(element.name);
      if (!local) continue;
      const symbol = resolveAlias(checker, local);
      if (CONSTANT_NAME.test(name) && symbol.flags & ts.SymbolFlags.Variable) continue;
      items.push({ name, symbol, section, typeOnly: statement.isTypeOnly || element.isTypeOnly });
    }
  }
  return items;
}

function docText(checker: ts.TypeChecker, symbol: ts.Symbol | ts.Signature): string {
  return ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim();
}

function tagsOf(checker: ts.TypeChecker, symbol: ts.Symbol | ts.Signature): ts.JSDocTagInfo[] {
  return "getJsDocTags" in symbol ? (symbol as ts.Symbol).getJsDocTags(checker) : [];
}

function tagText(tag: ts.JSDocTagInfo): string {
  return ts.displayPartsToString(tag.text ?? []).trim();
}

function isInternal(tags: readonly ts.JSDocTagInfo[]): boolean {
  return tags.some((t) => t.name === "internal");
}

/** TSDoc text and tags as Markdown: the summary, then defaults, throws and examples. */
function renderDoc(summary: string, tags: readonly ts.JSDocTagInfo[]): string {
  const parts: string[] = [];
  if (summary) parts.push(summary);
  for (const tag of tags) {
    const text = tagText(tag);
    if (tag.name === "defaultValue" || tag.name === "default") parts.push(`Default: ${text.includes("`") ? text : `\`${text}\``}.`);
    else if (tag.name === "throws") parts.push(`Throws: ${text}`);
    else if (tag.name === "deprecated") parts.push(`**Deprecated.** ${text}`);
    else if (tag.name === "see") parts.push(`See: ${text}`);
  }
  for (const tag of tags) {
    if (tag.name !== "example") continue;
    const text = tagText(tag);
    parts.push(text.includes("```") ? `Example:\n\n${text}` : `Example:\n\n\`\`\`ts\n${text}\n\`\`\``);
  }
  return parts.join("\n\n");
}

function code(text: string): string {
  return `\`\`\`ts\n${tidy(text)}\n\`\`\``;
}

/** Drops the default type argument TypeScript 5.7+ prints on byte arrays (`Buffer<ArrayBufferLike>`). */
function tidy(text: string): string {
  return text.replace(/\b(Buffer|Uint8Array)<ArrayBufferLike>/g, "$1");
}

function signatureLines(checker: ts.TypeChecker, name: string, symbol: ts.Symbol, prefix: string): string[] {
  const type = checker.getTypeOfSymbol(symbol);
  return type.getCallSignatures().map((sig) => `${prefix}${name}${checker.signatureToString(sig, undefined, FORMAT)}`);
}

function memberName(member: ts.ClassElement | ts.TypeElement): string | undefined {
  const name = member.name;
  if (!name) return undefined;
  if (ts.isPrivateIdentifier(name)) return undefined;
  if (ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isNumericLiteral(name)) return name.text;
  return name.getText();
}

function hasModifier(node: ts.Node, kind: ts.SyntaxKind): boolean {
  return ts.canHaveModifiers(node) && (ts.getModifiers(node)?.some((m) => m.kind === kind) ?? false);
}

interface RenderedMember {
  readonly name: string;
  readonly kind: ApiSymbolInfo["kind"];
  readonly signature: string;
  readonly doc: string;
  /** Declared on a base interface (listed, but reported under that interface). */
  readonly inherited?: boolean;
}

/** Public members of a class in source order: constructor, statics, properties, accessors, methods. */
function classMembers(checker: ts.TypeChecker, decl: ts.ClassDeclaration, className: string): RenderedMember[] {
  const out: RenderedMember[] = [];
  const seenAccessors = new Set<string>();
  for (const member of decl.members) {
    if (hasModifier(member, ts.SyntaxKind.PrivateKeyword) || hasModifier(member, ts.SyntaxKind.ProtectedKeyword)) continue;
    const isStatic = hasModifier(member, ts.SyntaxKind.StaticKeyword);
    const staticPrefix = isStatic ? "static " : "";
    if (ts.isConstructorDeclaration(member)) {
      const sig = checker.getSignatureFromDeclaration(member);
      if (!sig || isInternal(sig.getJsDocTags())) continue;
      out.push({ name: "constructor", kind: "method", signature: `new ${className}${checker.signatureToString(sig, undefined, FORMAT).replace(/: [^:]+$/, "")}`, doc: renderDoc(docText(checker, sig), sig.getJsDocTags()) });
      continue;
    }
    const name = memberName(member);
    if (name === undefined) continue;
    if (/^\[Symbol\.(hasInstance)\]$/.test(name)) continue;
    const symbol = member.name ? checker.getSymbolAtLocation(member.name) : undefined;
    if (!symbol) continue;
    const tags = tagsOf(checker, symbol);
    if (isInternal(tags)) continue;
    if (ts.isMethodDeclaration(member)) {
      const sig = checker.getSignatureFromDeclaration(member);
      if (!sig) continue;
      out.push({
        name,
        kind: "method",
        signature: `${staticPrefix}${name}${checker.signatureToString(sig, undefined, FORMAT)}`,
        doc: renderDoc(docText(checker, sig) || docText(checker, symbol), sig.getJsDocTags().length > 0 ? sig.getJsDocTags() : tags),
      });
    } else if (ts.isGetAccessorDeclaration(member) || ts.isSetAccessorDeclaration(member)) {
      if (seenAccessors.has(name)) continue;
      seenAccessors.add(name);
      const type = checker.typeToString(checker.getTypeOfSymbol(symbol), undefined, FORMAT);
      const setter = symbol.flags & ts.SymbolFlags.SetAccessor;
      out.push({ name, kind: "accessor", signature: `${staticPrefix}${setter ? "" : "get "}${name}: ${type}`, doc: renderDoc(docText(checker, symbol), tags) });
    } else if (ts.isPropertyDeclaration(member)) {
      const type = checker.typeToString(checker.getTypeOfSymbol(symbol), undefined, FORMAT);
      const readonly = hasModifier(member, ts.SyntaxKind.ReadonlyKeyword) ? "readonly " : "";
      out.push({ name, kind: "property", signature: `${staticPrefix}${readonly}${name}: ${type}`, doc: renderDoc(docText(checker, symbol), tags) });
    }
  }
  return out;
}

/**
 * Properties and methods of an interface: its own in source order, then the ones it inherits
 * (marked with where they come from), so one entry lists everything an options object takes.
 */
function interfaceMembers(checker: ts.TypeChecker, decl: ts.InterfaceDeclaration, symbol: ts.Symbol): RenderedMember[] {
  const out: RenderedMember[] = [];
  const own = new Set<string>();
  for (const member of decl.members) {
    const rendered = renderTypeElement(checker, member, "");
    if (!rendered) continue;
    own.add(rendered.name);
    out.push(rendered);
  }
  for (const property of checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(symbol))) {
    const member = property.declarations?.[0];
    if (!member || !ts.isTypeElement(member) || member.parent === decl) continue;
    const parent = member.parent;
    const origin = ts.isInterfaceDeclaration(parent) ? parent.name.text : "";
    const rendered = renderTypeElement(checker, member, origin);
    if (!rendered || own.has(rendered.name)) continue;
    out.push(rendered);
  }
  return out;
}

function renderTypeElement(checker: ts.TypeChecker, member: ts.TypeElement, origin: string): RenderedMember | undefined {
  const name = memberName(member);
  if (name === undefined) return undefined;
  const symbol = member.name ? checker.getSymbolAtLocation(member.name) : undefined;
  if (!symbol) return undefined;
  const tags = tagsOf(checker, symbol);
  if (isInternal(tags)) return undefined;
  const optional = member.questionToken ? "?" : "";
  const readonly = hasModifier(member, ts.SyntaxKind.ReadonlyKeyword) ? "readonly " : "";
  const from = origin ? `(from \`${origin}\`)` : "";
  const own = renderDoc(docText(checker, symbol), tags);
  const doc = [own, from].filter(Boolean).join(" ");
  const inherited = origin !== "";
  if (ts.isMethodSignature(member)) {
    const sig = checker.getSignatureFromDeclaration(member);
    if (!sig) return undefined;
    return { name, kind: "method", signature: `${name}${optional}${checker.signatureToString(sig, undefined, FORMAT)}`, doc, inherited };
  }
  if (ts.isPropertySignature(member)) {
    const type = member.type ? checker.typeToString(checker.getTypeFromTypeNode(member.type), undefined, FORMAT) : "unknown";
    return { name, kind: "property", signature: `${readonly}${name}${optional}: ${type}`, doc, inherited };
  }
  return undefined;
}

function heritage(decl: ts.ClassDeclaration | ts.InterfaceDeclaration): string {
  return (decl.heritageClauses ?? []).map((h) => ` ${h.token === ts.SyntaxKind.ExtendsKeyword ? "extends" : "implements"} ${h.types.map((t) => t.getText()).join(", ")}`).join("");
}

function typeParameters(decl: ts.ClassDeclaration | ts.InterfaceDeclaration | ts.TypeAliasDeclaration): string {
  return decl.typeParameters && decl.typeParameters.length > 0 ? `<${decl.typeParameters.map((p) => p.getText()).join(", ")}>` : "";
}

function renderMembers(members: readonly RenderedMember[]): string {
  return members
    .map((m) => {
      const doc = m.doc ? `\n\n${m.doc.replace(/^/gm, "  ").replace(/^ +$/gm, "")}` : "";
      return `- \`${tidy(m.signature).replace(/`/g, "'")}\`${doc}`;
    })
    .join("\n\n");
}

/** A Markdown anchor; names differing only in case (`ref`, `Ref`) get distinct ones by their kind. */
function anchorOf(module: string, name: string, kind = ""): string {
  return `${module}-${kind ? `${kind}-` : ""}${name}`.toLowerCase().replace(/[^a-z0-9_-]+/g, "-");
}

function kindOf(symbol: ts.Symbol): string {
  if (symbol.flags & ts.SymbolFlags.Function) return "function";
  if (symbol.flags & ts.SymbolFlags.Class) return "class";
  if (symbol.flags & ts.SymbolFlags.Interface) return "interface";
  if (symbol.flags & ts.SymbolFlags.TypeAlias) return "type";
  return "const";
}

interface Rendered {
  readonly markdown: string;
  readonly infos: ApiSymbolInfo[];
}

function renderItem(checker: ts.TypeChecker, module: string, item: ExportItem): Rendered | undefined {
  const { name, symbol } = item;
  const decl = symbol.declarations?.[0];
  if (!decl) return undefined;
  const file = repoPath(decl.getSourceFile().fileName);
  const declaredName = symbol.getName();
  const renamed = declaredName !== name && declaredName !== "default" ? ` (declared as \`${declaredName}\`)` : "";
  const source = `<sub>[${file}](../${file})${renamed}</sub>`;
  const infos: ApiSymbolInfo[] = [];
  const head = (kind: string): string => `#### <a id="${anchorOf(module, name, kindOf(symbol))}"></a>${kind} \`${name}\`\n\n${source}`;

  if (symbol.flags & ts.SymbolFlags.Function) {
    const type = checker.getTypeOfSymbol(symbol);
    const sigs = type.getCallSignatures();
    const doc = docText(checker, symbol) || (sigs[0] ? docText(checker, sigs[0]) : "");
    const tags = tagsOf(checker, symbol);
    infos.push({ module, name, kind: "function", file, documented: doc !== "" });
    return {
      markdown: [head("function"), code(signatureLines(checker, name, symbol, "function ").join("\n")), renderDoc(doc, tags)].filter(Boolean).join("\n\n"),
      infos,
    };
  }
  if (symbol.flags & ts.SymbolFlags.Class && ts.isClassDeclaration(decl)) {
    const doc = docText(checker, symbol);
    infos.push({ module, name, kind: "class", file, documented: doc !== "" });
    const members = classMembers(checker, decl, name);
    for (const m of members) infos.push({ module, name: `${name}.${m.name}`, kind: m.kind, file, documented: m.doc !== "" });
    return {
      markdown: [head("class"), code(`class ${name}${typeParameters(decl)}${heritage(decl)}`), renderDoc(doc, tagsOf(checker, symbol)), members.length > 0 ? `Members:\n\n${renderMembers(members)}` : ""]
        .filter(Boolean)
        .join("\n\n"),
      infos,
    };
  }
  if (symbol.flags & ts.SymbolFlags.Interface && ts.isInterfaceDeclaration(decl)) {
    const doc = docText(checker, symbol);
    infos.push({ module, name, kind: "interface", file, documented: doc !== "" });
    const members = interfaceMembers(checker, decl, symbol);
    for (const m of members.filter((x) => !x.inherited)) infos.push({ module, name: `${name}.${m.name}`, kind: m.kind, file, documented: m.doc !== "" });
    return {
      markdown: [head("interface"), code(`interface ${name}${typeParameters(decl)}${heritage(decl)}`), renderDoc(doc, tagsOf(checker, symbol)), members.length > 0 ? renderMembers(members) : ""]
        .filter(Boolean)
        .join("\n\n"),
      infos,
    };
  }
  if (symbol.flags & ts.SymbolFlags.TypeAlias && ts.isTypeAliasDeclaration(decl)) {
    const doc = docText(checker, symbol);
    infos.push({ module, name, kind: "type", file, documented: doc !== "" });
    const aliased = checker.typeToString(checker.getTypeFromTypeNode(decl.type), undefined, FORMAT | ts.TypeFormatFlags.InTypeAlias);
    return { markdown: [head("type"), code(`type ${name}${typeParameters(decl)} = ${aliased}`), renderDoc(doc, tagsOf(checker, symbol))].filter(Boolean).join("\n\n"), infos };
  }
  if (symbol.flags & ts.SymbolFlags.Variable) {
    const doc = docText(checker, symbol);
    infos.push({ module, name, kind: "variable", file, documented: doc !== "" });
    const type = checker.typeToString(checker.getTypeOfSymbol(symbol), undefined, FORMAT);
    return { markdown: [head("const"), code(`const ${name}: ${type}`), renderDoc(doc, tagsOf(checker, symbol))].filter(Boolean).join("\n\n"), infos };
  }
  return undefined;
}

function build(): { markdown: string; infos: ApiSymbolInfo[] } {
  const program = createProgram();
  const checker = program.getTypeChecker();
  const infos: ApiSymbolInfo[] = [];
  const out: string[] = [
    "<!-- Generated by scripts/api-docs.ts from the TSDoc in the source: edit the comments, then run `npx tsx scripts/api-docs.ts`. -->",
    "",
    "# API reference",
    "",
    "Every function, class, interface and type the package exports, with its signature and its documentation, in the order the entry files list them. The constants are listed elsewhere: return codes in [return-codes.md](return-codes.md), attribute IDs in [attributes.md](attributes.md), enumeration values and certificate element IDs in [constants.md](constants.md). The guides: [concepts.md](concepts.md), [porting-from-c.md](porting-from-c.md), [idiomatic.md](idiomatic.md).",
  ];
  const toc: string[] = [];
  const bodies: string[] = [];
  for (const entry of ENTRIES) {
    const source = program.getSourceFile(join(root, entry.file));
    if (!source) throw new Error(`${entry.file} is not in the program`);
    const items = exportsOf(checker, source);
    toc.push(`- [\`${entry.module}\`](#${anchorOf("module", entry.module)})`);
    bodies.push(`## <a id="${anchorOf("module", entry.module)}"></a>\`${entry.module}\`\n\n${entry.intro}`);
    let section = "";
    for (const item of items) {
      const rendered = renderItem(checker, entry.module, item);
      if (!rendered) continue;
      const link = `[\`${item.name}\`](#${anchorOf(entry.module, item.name, kindOf(item.symbol))})`;
      if (item.section !== section) {
        section = item.section;
        const heading = capitalize(section);
        toc.push(`  - ${heading}: ${link}`);
        bodies.push(`### ${heading}`);
      } else {
        toc[toc.length - 1] += `, ${link}`;
      }
      bodies.push(rendered.markdown);
      infos.push(...rendered.infos);
    }
  }
  out.push("", "## Contents", "", ...toc, "");
  out.push(bodies.join("\n\n"));
  return { markdown: out.join("\n").replace(/\n{3,}/g, "\n\n").trimEnd() + "\n", infos };
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The content docs/api.md must have. */
export function renderApiDocs(): string {
  return build().markdown;
}

/** Every public symbol and member with whether it is documented (for the tests). */
export function apiSymbols(): ApiSymbolInfo[] {
  return build().infos;
}

/** Path of the generated file, relative to the repository. */
export const API_DOCS_PATH = OUTPUT;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const target = join(root, OUTPUT);
  const fresh = renderApiDocs();
  if (process.argv.includes("--check")) {
    let current = "";
    try {
      current = readFileSync(target, "utf8");
    } catch {
      // missing counts as stale
    }
    if (current !== fresh) {
      console.error(`${OUTPUT} is stale: run npx tsx scripts/api-docs.ts`);
      process.exit(1);
    }
  } else {
    writeFileSync(target, fresh);
  }
}
