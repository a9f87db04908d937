-- pandoc filter for the man pages: a man page has 80 columns, where a table of keys (key | type | default | meaning)
-- wraps into narrow, unreadable columns. Each row becomes an entry of a definition list instead: the first cell is
-- the term; the middle cells, labelled with their column's heading, the first line of the definition; the last
-- cell (the meaning) its own paragraph. Empty cells and "—" are left out.
local stringify = pandoc.utils.stringify

local function inlines(cell)
  return pandoc.utils.blocks_to_inlines(cell.contents)
end

local function empty(cell)
  local text = stringify(cell.contents)
  return text == "" or text == "—" or text == "-"
end

function Table(tbl)
  local headings = {}
  for i, cell in ipairs(tbl.head.rows[1].cells) do
    headings[i] = stringify(cell.contents)
  end
  local items = {}
  for _, body in ipairs(tbl.bodies) do
    for _, row in ipairs(body.body) do
      local cells = row.cells
      local blocks = {}
      local line = pandoc.List()
      for i = 2, #cells - 1 do
        if not empty(cells[i]) then
          if #line > 0 then line:insert(pandoc.Str(";")); line:insert(pandoc.Space()) end
          line:insert(pandoc.Emph({pandoc.Str(headings[i] .. ":")}))
          line:insert(pandoc.Space())
          line:extend(inlines(cells[i]))
        end
      end
      if #line > 0 then table.insert(blocks, pandoc.Plain(line)) end
      if #cells > 1 and not empty(cells[#cells]) then
        table.insert(blocks, pandoc.Para(inlines(cells[#cells])))
      end
      table.insert(items, {inlines(cells[1]), {blocks}})
    end
  end
  return pandoc.DefinitionList(items)
end
