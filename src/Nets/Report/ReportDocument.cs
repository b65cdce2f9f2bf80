using System.Text;

namespace GpuAe.Nets.Report;

/// <summary>A part of the study's text, by what it says: how the PDF report and the slides find what REPORT.md says, so that
/// every sentence is written once (by <see cref="ReportText"/>) and only laid out three ways.</summary>
public enum Part
{
    Opening, Results, Why, Models, Reconstruction, LatentSpace, Generation, Conditional, Adversarial, BetaSweep, Training, Claims, Limits, FutureWork, Reproduce,
}

/// <summary>What a block says, where a layout picks one block rather than a section.</summary>
public enum Say
{
    None, MadeBy, Links, NotebookComparison, EqualWidth, WidthGap, WidthKl, ClaimReconstruction, ClaimEqualWidth, ClaimLatent, ClaimGeneration,
    BetaTradeOff, BetaBest, BetaRanking, BetaGeneration, ClaimBeta, ConditionalRecognised, ConditionalBound, ClaimSharper,
}

/// <summary>The small tables of report.tex and slides.tex (<see cref="ReportText.Digest"/>).</summary>
public enum Digests { Headline, Reconstruction, Widths, Latents, Generation, BetaSweep, Conditional, Adversarial }

/// <summary>A line of text: inline Markdown (**bold**, `code`, [text](link), Unicode for the maths), and what it says
/// where a layout picks it by that.</summary>
public sealed record Line(Say Says, string Text);

/// <summary>One block of a section.</summary>
public abstract record Block;
/// <summary>A paragraph; its lines are one paragraph (REPORT.md keeps them on separate lines).</summary>
public sealed record Paragraph(IReadOnlyList<Line> Lines) : Block
{
    public string Text => string.Join(" ", Lines.Select(l => l.Text));
}
public sealed record Bullets(IReadOnlyList<Line> Items) : Block;
/// <summary>A table: a row of cells per row, a heading per column.</summary>
public sealed record Table(IReadOnlyList<string> Headings, IReadOnlyList<IReadOnlyList<string>> Rows) : Block;
public sealed record Figure(string File, string Caption) : Block;

public sealed record Section(Part Part, string? Title, IReadOnlyList<Block> Blocks);

/// <summary>The study's text as sections of blocks: REPORT.md is its Markdown (<see cref="ToMarkdown"/>), report.tex and
/// slides.tex pick sections and blocks from it (<see cref="Latex"/>).</summary>
public sealed record ReportDocument(string Title, IReadOnlyList<Section> Sections)
{
    public IEnumerable<Section> All(Part part) => Sections.Where(s => s.Part == part);
    public IEnumerable<Block> Blocks(Part part) => All(part).SelectMany(s => s.Blocks);

    /// <summary>The line that says <paramref name="what"/>, or null where this study does not say it.</summary>
    public string? Text(Say what) => Sections.SelectMany(s => s.Blocks).SelectMany(b => b switch
    {
        Paragraph p => p.Lines,
        Bullets list => list.Items,
        _ => [],
    }).FirstOrDefault(l => l.Says == what)?.Text;

    public string ToMarkdown()
    {
        var t = new StringBuilder();
        t.Append("# ").Append(Title).Append("\n\n");
        foreach (var section in Sections)
        {
            if (section.Title is { } title) t.Append("## ").Append(title).Append("\n\n");
            foreach (var block in section.Blocks)
            {
                switch (block)
                {
                    case Paragraph p: foreach (var line in p.Lines) t.Append(line.Text).Append('\n'); break;
                    case Bullets b: foreach (var item in b.Items) t.Append("- ").Append(item.Text).Append('\n'); break;
                    case Figure f: t.Append("![").Append(f.Caption).Append("](").Append(f.File).Append(")\n"); break;
                    case Table table:
                        t.Append("| ").Append(string.Join(" | ", table.Headings.Select(h => h.Replace("|", "\\|")))).Append(" |\n");
                        t.Append('|').Append(string.Concat(table.Headings.Select(_ => "---|"))).Append('\n');
                        foreach (var row in table.Rows) t.Append("| ").Append(string.Join(" | ", row)).Append(" |\n");
                        break;
                }
                t.Append('\n');
            }
        }
        return t.ToString().TrimEnd('\n') + "\n";
    }
}
