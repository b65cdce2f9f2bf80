using System.Text;

namespace GpuAe.Nets.Report;

/// <summary>report.tex: the study on two A4 pages, in two columns. Its text is REPORT.md's (<see cref="ReportDocument"/>):
/// the motivation, the models, the verdicts on the notebook's claims, the limits and the future work; its one table is
/// <see cref="ReportText.Digest"/>'s, its figures the reconstructions, the 2-D latents and the generated images.</summary>
public static class ReportTex
{
    public const string Name = "report";

    public static string Write(ReportDocument doc, ReportSummary s, ReportOptions o)
    {
        var t = new StringBuilder();
        t.Append("\\documentclass[10pt,a4paper,twocolumn]{article}\n")
         .Append("\\usepackage[a4paper,margin=1.4cm,columnsep=0.55cm]{geometry}\n")
         .Append(Latex.Packages)
         .Append("\\usepackage[font=small,labelfont=bf,skip=3pt]{caption}\n")
         .Append("\\usepackage[hidelinks]{hyperref}\n")
         .Append("\\setlength{\\textfloatsep}{8pt plus 2pt minus 2pt}\n\\setlength{\\floatsep}{6pt plus 2pt minus 2pt}\n")
         .Append("\\makeatletter\\renewcommand\\section{\\@startsection{section}{1}{\\z@}{1.2ex plus .5ex minus .2ex}{0.6ex}{\\normalfont\\large\\bfseries}}\\makeatother\n")
         .Append("\\let\\olditemize\\itemize\\renewcommand\\itemize{\\olditemize\\setlength{\\itemsep}{1pt}\\setlength{\\parsep}{0pt}\\setlength{\\topsep}{2pt}}\n")
         .Append("\\pagestyle{empty}\n\\begin{document}\n");

        // The header across both columns: the title, what made the study, and its one table.
        t.Append("\\twocolumn[{\\begin{center}\n{\\LARGE\\bfseries ").Append(Latex.Escape(doc.Title)).Append("}\\\\[4pt]\n")
         .Append("{\\small GpuAe: trained and measured with our own GPU kernels, every number from one run}\\\\[6pt]\n")
         .Append("\\begin{minipage}{0.96\\textwidth}\\footnotesize ").Append(Latex.Inline(doc.Text(Say.MadeBy) ?? "")).Append("\\end{minipage}\\\\[6pt]\n")
         .Append("{\\small\\fitwidth{").Append(Latex.Tabular(ReportText.Digest(s, o, Digests.Headline))).Append("}}\\\\[2pt]\n")
         .Append("{\\small\\textbf{Table 1.} ").Append(Latex.Inline(TableCaption)).Append("}\n")
         .Append("\\end{center}\\vspace{4pt}}]\n");

        t.Append("\\small\n"); // a dense two pages: the body a size below the title block's
        // Defined on the first page so that it floats to the top of the second (a figure across both columns goes no
        // earlier than the page after its definition; defined with the results it went to a third page).
        Figure(t, StudyFigures.LatentScatterPng, "The 2-D latents of the test images: the VAE's means beside the 2-D AE's codes, by class (first seed).", width: 0.62);
        Section(t, "Why these models", doc.Blocks(Part.Why));
        Section(t, "The models", doc.Blocks(Part.Models));
        t.Append("\\section*{Results}\n");
        // At 0.8 of the column: with the conv models' rows (21 rows of images) the full width pushed the limits to a third page.
        Figure(t, StudyFigures.ReconstructionsPng, "Test images (top), the reconstructions of each model and their absolute errors (first seed).", scale: 0.8);
        // The comparisons measure by measure are REPORT.md's; here the verdicts below sum them up.
        foreach (var says in new[] { Say.WidthGap, Say.WidthKl })
            if (doc.Text(says) is { } text) t.Append(Latex.Inline(text)).Append("\n\n");
        Figure(t, StudyFigures.PriorSamplesPng, "Generated images at every latent width: the VAEs from their prior, the AEs from a Gaussian fitted to their codes (first seed).", scale: 0.72);
        Section(t, "What the numbers say about the notebook's claims", doc.Blocks(Part.Claims));
        // The two closing sections a size smaller, the future work run in as one paragraph (REPORT.md lists it): two pages.
        t.Append("{\\footnotesize\n");
        Section(t, "Limits", doc.Blocks(Part.Limits));
        t.Append("\\section*{Future work}\n")
         .Append(string.Join("; ", doc.Blocks(Part.FutureWork).SelectMany(Texts).Select(text => Latex.Inline(text.TrimEnd('.')))))
         .Append(".\n\n}\n");
        return t.Append("\\end{document}\n").ToString();
    }

    const string TableCaption = "Test set: mean ± sample sd over the seeds. −ELBO sampled (VAEs only); BCE of the deterministic " +
        "reconstruction (from the AE's code, from the VAE's μ); 5-NN class accuracy of the codes; Fréchet distance of generated images to " +
        "the test images on our classifier's features.";

    /// <summary>A paragraph's text, or each item of a list.</summary>
    static IEnumerable<string> Texts(Block block) => block switch
    {
        Paragraph p => [p.Text],
        Bullets b => b.Items.Select(i => i.Text),
        _ => [],
    };

    static void Section(StringBuilder t, string title, IEnumerable<Block> blocks)
    {
        t.Append("\\section*{").Append(Latex.Escape(title)).Append("}\n");
        foreach (var block in blocks.Where(b => b is Paragraph or Bullets)) t.Append(Latex.Block(block));
    }

    /// <summary>A figure in a column, or across both at <paramref name="width"/> of the page's text.</summary>
    static void Figure(StringBuilder t, string file, string caption, double? width = null, double scale = 1)
    {
        string env = width is null ? "figure" : "figure*";
        t.Append($"\\begin{{{env}}}[t]\\centering\n\\includegraphics[width={Latex.Number(width ?? scale)}\\linewidth]{{{file}}}\n\\caption{{{Latex.Inline(caption)}}}\n\\end{{{env}}}\n");
    }
}
