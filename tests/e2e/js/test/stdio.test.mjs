// Every tool over stdio, driven by the MCP TypeScript SDK's StdioClientTransport.
import { connectStdio } from '../lib/mcp.mjs';
import { defineToolSuite } from '../lib/tool-suite.mjs';

defineToolSuite('stdio (TypeScript SDK)', (sandbox, user) => connectStdio(sandbox, user));
