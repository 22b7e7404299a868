// A recipe of the docs that shows only what differs from the hello world, put
// into it as a reader does: its imports join the hello world's, each of its
// declarations takes the place of the hello world's declaration of the same
// name, and its other statements go before the first one it replaces (at the
// end when it replaces none), so that they are declared before they are used.
import ts from 'typescript';

/** The names a top-level statement declares. */
function declaredNames(statement: ts.Statement): string[] {
  if (ts.isVariableStatement(statement)) {
    return statement.declarationList.declarations.flatMap((declaration) =>
      ts.isIdentifier(declaration.name) ? [declaration.name.text] : [],
    );
  }
  if (
    (ts.isFunctionDeclaration(statement) ||
      ts.isClassDeclaration(statement) ||
      ts.isTypeAliasDeclaration(statement) ||
      ts.isInterfaceDeclaration(statement)) &&
    statement.name !== undefined
  ) {
    return [statement.name.text];
  }
  return [];
}

/** The local names an import binds. */
function importedNames(declaration: ts.ImportDeclaration): string[] {
  const clause = declaration.importClause;
  if (clause === undefined) return [];
  const bindings = clause.namedBindings;
  return [
    ...(clause.name === undefined ? [] : [clause.name.text]),
    ...(bindings === undefined
      ? []
      : ts.isNamespaceImport(bindings)
        ? [bindings.name.text]
        : bindings.elements.map((element) => element.name.text)),
  ];
}

/** The recipe's import, without the names the hello world imports already; undefined when none is left. */
function newImport(declaration: ts.ImportDeclaration, known: ReadonlySet<string>): string | undefined {
  const clause = declaration.importClause;
  const from = declaration.moduleSpecifier.getText();
  if (clause === undefined) return `import ${from};`;
  const bindings = clause.namedBindings;
  if (bindings !== undefined && ts.isNamedImports(bindings)) {
    const elements = bindings.elements.filter((element) => !known.has(element.name.text));
    const name = clause.name !== undefined && !known.has(clause.name.text) ? clause.name.text : undefined;
    if (elements.length === 0 && name === undefined) return undefined;
    const named =
      elements.length === 0 ? [] : [`{ ${elements.map((element) => element.getText()).join(', ')} }`];
    const typeOnly = /^import\s+type\s/.test(declaration.getText()) ? 'type ' : '';
    return `import ${typeOnly}${[...(name === undefined ? [] : [name]), ...named].join(', ')} from ${from};`;
  }
  return importedNames(declaration).every((name) => known.has(name)) ? undefined : declaration.getText();
}

function parse(code: string): ts.SourceFile {
  return ts.createSourceFile('code.ts', code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
}

/** The hello world with the recipe in it. Throws when the recipe replaces nothing and adds nothing. */
export function withRecipe(helloWorld: string, recipe: string): string {
  const base = parse(helloWorld);
  const change = parse(recipe);
  const known = new Set(base.statements.filter(ts.isImportDeclaration).flatMap(importedNames));
  const imports: string[] = [];
  const replacements = new Map<ts.Statement, string>();
  const added: string[] = [];
  for (const statement of change.statements) {
    if (ts.isImportDeclaration(statement)) {
      const line = newImport(statement, known);
      if (line !== undefined) imports.push(line);
      continue;
    }
    const names = declaredNames(statement);
    const replaced = base.statements.find((candidate) =>
      declaredNames(candidate).some((name) => names.includes(name)),
    );
    const text = recipe.slice(statement.getFullStart(), statement.end).trim();
    if (replaced === undefined) added.push(text);
    else replacements.set(replaced, text);
  }
  if (replacements.size === 0 && added.length === 0) throw new Error('the recipe changes nothing');
  const firstReplaced = base.statements.find((statement) => replacements.has(statement));
  let code = '';
  let at = 0;
  for (const statement of base.statements) {
    const start = statement.getStart();
    code += helloWorld.slice(at, start);
    if (statement === firstReplaced) code += `${added.join('\n')}\n`;
    code += replacements.get(statement) ?? helloWorld.slice(start, statement.end);
    at = statement.end;
  }
  code += helloWorld.slice(at);
  if (firstReplaced === undefined) code += `${added.join('\n')}\n`;
  return `${imports.join('\n')}\n${code}`;
}
