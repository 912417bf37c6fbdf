-- A real editor as the client: Neovim (0.7 or later, headless) opens an
-- example mapping with mapc-lsp attached and records what the server says:
-- the diagnostics when the file opens, a hover, a completion, and the
-- diagnostics after an edit that misspells a field. `tests/neovim.rs` runs
-- this and checks the record. Settings come from the environment:
-- MAPWRIGHT_NVIM_SERVER (the mapc-lsp binary), MAPWRIGHT_NVIM_FILE (the
-- mapping), MAPWRIGHT_NVIM_OUT (where the JSON record goes).

local server = os.getenv("MAPWRIGHT_NVIM_SERVER")
local file = os.getenv("MAPWRIGHT_NVIM_FILE")
local out_path = os.getenv("MAPWRIGHT_NVIM_OUT")
local record = { steps = {} }

local function finish()
  local handle = io.open(out_path, "w")
  handle:write(vim.fn.json_encode(record))
  handle:close()
  vim.cmd("qa!")
end

local function fail(message)
  record.error = message
  finish()
end

-- Every diagnostics notification, in order.
local published = {}
local original = vim.lsp.handlers["textDocument/publishDiagnostics"]
vim.lsp.handlers["textDocument/publishDiagnostics"] = function(err, result, ctx, config)
  table.insert(published, result)
  return original(err, result, ctx, config)
end

vim.cmd("edit " .. vim.fn.fnameescape(file))
local buf = vim.api.nvim_get_current_buf()
local uri = vim.uri_from_bufnr(buf)
local client = vim.lsp.start_client({
  name = "mapc-lsp",
  cmd = { server },
  root_dir = vim.fn.fnamemodify(file, ":h"),
  flags = { debounce_text_changes = 20 },
})
if not client then
  return fail("start_client gave no client")
end
vim.lsp.buf_attach_client(buf, client)

local function wait_for_diagnostics(after, predicate)
  local found = nil
  vim.wait(20000, function()
    for index = after + 1, #published do
      local result = published[index]
      if result.uri == uri and predicate(result.diagnostics) then
        found = result.diagnostics
        return true
      end
    end
    return false
  end, 20)
  return found
end

-- 1. The diagnostics of the file as it is (a clean example: none).
local opened = wait_for_diagnostics(0, function() return true end)
if opened == nil then
  return fail("no diagnostics were published for the opened file within 20 s")
end
table.insert(record.steps, { step = "opened", diagnostics = opened })

-- Positions by searching the buffer (the example's lines are ASCII, so a
-- byte column is a UTF-16 column).
local function position_of(pattern, offset)
  for index, line in ipairs(vim.api.nvim_buf_get_lines(buf, 0, -1, false)) do
    local column = string.find(line, pattern, 1, true)
    if column then
      return { line = index - 1, character = column - 1 + (offset or 0) }
    end
  end
  return nil
end

local function request(method, position)
  local params = { textDocument = { uri = uri }, position = position }
  local responses, err = vim.lsp.buf_request_sync(buf, method, params, 20000)
  if not responses then
    return nil, tostring(err)
  end
  for _, response in pairs(responses) do
    return response.result, response.err and response.err.message
  end
  return nil, "no response"
end

-- 2. Hover on the target field `CompanyCode`.
local hover, hover_err = request("textDocument/hover", position_of("CompanyCode = company_code", 3))
table.insert(record.steps, { step = "hover", result = hover, error = hover_err })

-- 3. Completion after `inv.`.
local completion, completion_err = request("textDocument/completion", position_of("inv.issued_on", 4))
local labels = {}
local items = completion and (completion.items or completion) or {}
for _, item in ipairs(items) do
  table.insert(labels, item.label)
end
table.insert(record.steps, { step = "completion", labels = labels, error = completion_err })

-- 4. An edit that misspells a source field: the server must say so.
local before = #published
local target = position_of("PostingDate = inv.issued_on")
vim.api.nvim_buf_set_lines(buf, target.line, target.line + 1, false, { "  PostingDate = inv.isued_on" })
local edited = wait_for_diagnostics(before, function(diagnostics) return #diagnostics > 0 end)
if edited == nil then
  return fail("no diagnostics after the edit within 20 s")
end
table.insert(record.steps, { step = "edited", diagnostics = edited })

vim.lsp.stop_client(client)
finish()
