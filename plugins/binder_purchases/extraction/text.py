"""Invoice fields from a page layout (PDF text layer, OCR words or plain text), French first.

The reading works on a :class:`~.layout.Layout`: visual lines whose rendering keeps the words'
columns, split into cells where words stand apart. For each field, candidates are gathered
from labels paired with the value to their right (same cell or next cell) or below (the cell
underneath, as in a header table); dates take the meaning of the label nearest to them
(invoice, due, delivery, order, period...). The totals are then chosen together so that the
invoice adds up (HT + TVA = TTC, each VAT line = rate x base, their sums), identifiers are
checked by checksum, and the parties' roles are kept apart (an identifier in the buyer's block
or labelled as the client's is never the supplier's). Legal mentions (share capital, penalties,
recovery fee) never give amounts. Confidence drops when a value is guessed and, on scans, with
the OCR confidence of the words it was read from.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from .fields import (
    CENT,
    KNOWN_RATES,
    REGIME_ZERO_CATEGORY,
    empty_fields,
    fmt_amount,
    fmt_date,
    invoice_regime,
    sign_credit_note,
    to_decimal,
)
from .identifiers import (
    EU_VAT_PREFIXES,
    iter_ibans,
    iter_sirens,
    iter_sirets,
    iter_vat_numbers,
    valid_siren,
    vat_country,
)
from .layout import Layout, Line
from .numbers import iter_amounts, iter_dates
from .terms import read_terms


def _cellwise(pattern: str) -> re.Pattern[str]:
    """Compile a label pattern whose words never span two cells (at most one space between)."""
    return re.compile(pattern.replace(r"\s*", "[ ]?").replace(r"\s+", "[ ]"))


#: VAT rates of neighbouring countries, used only to check arithmetic on foreign invoices.
FOREIGN_RATES: frozenset[Decimal] = frozenset(
    Decimal(x) for x in ("19", "7", "16", "5", "21", "6", "12", "22", "4", "8.1", "2.6", "3.8", "9")
)
ALL_RATES = KNOWN_RATES | FOREIGN_RATES

# -- labels ------------------------------------------------------------------------------------
_NUM = r"(?:n\s?[°º]|n[o°º]\.?|num[ée]ro|number|nummer|nr\.?|no\.?|#)"
_NUMBER_STRONG = _cellwise(
    rf"(?i)\b(?:facture|avoir|invoice|credit\s*note|rechnung|gutschrift|pi[èe]ce)\s*{_NUM}\s*[:.]?"
    rf"|{_NUM}\s*(?:de\s+|d')?(?:la\s+)?(?:facture|avoir|pi[èe]ce|invoice)\b\s*[:.]?"
    r"|\bnum[ée]ro\s+de\s+(?:la\s+)?facture\s*[:.]?|\br[ée]f(?:[ée]rence|\.)?\s+(?:de\s+la\s+)?"
    r"facture\s*[:.]?|\brechnungs-?(?:nummer|nr\.?)\s*[:.]?|\binvoice\s*(?:id|ref\.?)\s*[:.]?"
    r"|\bbeleg-?(?:nummer|nr\.?)\s*[:.]?|\bfactuur-?(?:nummer|nr\.?)\s*[:.]?"
)
_NUMBER_TITLE = _cellwise(
    r"(?i)(?<![\w'])(?:facture\s+d'avoir|facture|avoir|invoice|rechnung|gutschrift|handelsrechnung)(?:\s*\(\d+\))?"
    r"(?:\s+(?:n[°º]|nr\.?|no\.?|#))?\s*[:.]?(?=\s)"
)
_NUMBER_WEAK = _cellwise(
    r"(?i)(?<![\w'])(?:n\s?[°º]|num[ée]ro|r[ée]f[ée]rence|r[ée]f\.|number|nummer|nr\.|no\.)\s*[:.]?"
)
#: Words before a weak number label that make it another reference (client, order, VAT...).
_OTHER_REFERENCE = re.compile(
    r"(?i)(?:client|commande|cde|bon|devis|contrat|march[ée]|tva|vat|siret|siren|t[ée]l|fax"
    r"|compte|votre|vos|notre|customer|order|kunden|bestell|auftrag|lieferschein|liefer|steuer"
    r"|ust|mwst|dossier|affaire|projet|lot|colis|suivi|tracking|article|produit|ean|iban"
    r"|abonn|contrat|police|pdl|pce|compteur|ligne|mandat|rum|ics|associ|pr[ée]c[ée]dent"
    r"|origin|initial|licence|agr[ée]ment|certificat|s[ée]rie|adh[ée]rent|membre|dossier)\w*\W*$"
)
#: Words before a number label that make it the reference of another invoice.
_REFERRED = re.compile(
    r"(?i)(?:\bsur|\bde\s+la|origine|initiale|associ[ée]e?|li[ée]e|rectifi\w*|annul\w*"
    r"|remplac\w*|\bref\.?|r[ée]f[ée]rence|concerne|\bvotre|\bvos)\W*(?:\w+\W+)?$"
)
_NUMBER_VALUE = re.compile(r"[A-Z0-9][A-Z0-9\-/_.]{1,30}", re.I)

# Date labels: the label nearest to a date gives its meaning.
_DATE_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "due",
        re.compile(
            r"(?i)[ée]ch[ée]ance|date\s+limite|[àa]\s+r[ée]gler\s+(?:avant|le|au\s+plus\s+tard)"
            r"|[àa]\s+payer\s+(?:avant|le|au\s+plus)|payable\s+(?:le|avant|au|by|before|until|on)"
            r"|due\s+(?:date|on|by)|payment\s+due|\bdue\b|f[äa]llig|zahlbar\s+(?:bis|am)"
            r"|zahlungsziel|pay\s+by|paiement\s+(?:avant|le|au)|pr[ée]lev[ée]e?\s+le"
            r"|pr[ée]l[èe]vement\s+(?:le|du|effectu[ée])|d[ée]bit[ée]e?\s+le|avant\s+le"
            r"|date\s+de\s+pr[ée]l[èe]vement|date\s+du\s+pr[ée]l[èe]vement|\b[ée]ch\.|\bdue\b"
            r"|date\s+de\s+(?:r[èe]glement|paiement)\s+pr[ée]vue|netto\s+bis|bis\s+zum"
            r"|soit\s+le|au\s+plus\s+tard|exigib|[àa]\s+r[ée]gler\s+pour|date\s+de\s+paiement"
            r"|zahlungstermin|zahlungsfrist|terme\s+[ée]chu|payment\s+date|pay\s+before"
        ),
    ),
    (
        "other",
        re.compile(
            r"(?i)livr|exp[ée]di|command|\bcde\b|devis|accept|\bbon\b|p[ée]riode|prestation"
            r"|ex[ée]cution|intervention|original|d'origine|initial|contrat|liefer|leistung"
            r"|bestell|auftrag|delivery|deliver|shipping|shipped|ship\b|\border|period"
            r"|consommation|relev[ée]|index|imprim|[ée]dit[ée]|g[ée]n[ée]r[ée]|naissance"
            r"|skonto|escompte|valable|validit|offre|r[èe]glement|pay[ée]|paid|re[çc]u|versement"
            r"|acompte|depuis|since|service\s+date|date\s+of\s+supply|du\s+\S+\s+au\b|\bau\b"
            r"|vom\s+\S+\s+bis|\bbis\b|\bto\b|abonnement|souscri|d[ée]but|\bfin\b|\bstart|\bend\b"
            r"|mise\s+en\s+service|rendez|\bvisite\b|s[ée]jour|arriv|d[ée]part|voyage|vol\b"
            r"|transport|enl[èe]vement|chargement|bl\b|\bbl\s|\bbc\b|associ|pr[ée]c[ée]dent"
            r"|rectifi|annul|remplac|r[ée]f[ée]renc|gem[äa]ß|gemaess"
        ),
    ),
    (
        "invoice",
        re.compile(
            r"(?i)date\s+(?:de\s+(?:la\s+)?)?(?:facture|facturation|d'?[ée]mission|pi[èe]ce|l'avoir)"
            r"|invoice\s+date|date\s+of\s+issue|issue\s+date|issued|rechnungsdatum|belegdatum"
            r"|datum\s+der\s+rechnung|\bdate\b|\bdatum\b|fait\s+le|[ée]mise?\s+le|\bdated\b"
            r"|factuurdatum"
        ),
    ),
)
#: A bare preposition before a date ("Paris, le 3 mars", "Facture 12 du 3/3"): an invoice date
#: only when no other label is nearer.
_DATE_WEAK = re.compile(r"(?i)\ble\b|\bdu\b|\bvom\b|\bden\b|\bon\b")
_INVOICE_WORDS = re.compile(r"(?i)factur|invoice|rechnung|avoir|gutschrift|pi[èe]ce")

_HT = _cellwise(
    r"(?i)total\s*(?:net\s*)?h\.?\s*t\b\.?|montant\s*(?:net\s*)?h\.?\s*t\b\.?|total\s+hors\s+tax\w*"
    r"|montant\s+hors\s+tax\w*|sous[- ]total|base\s+h\.?t\.?|total\s+net\b|\bnet\s+amount"
    r"|subtotal|sub-total|total\s+excl\w*|amount\s+excl\w*|total\s+\(?before\s+tax|net\s+total"
    r"|total\s+net\s+of\s+vat|nettobetrag|summe\s+netto|netto\s*summe|zwischensumme"
    r"|gesamt\s*netto|rechnungssumme\s+ohne|summe\s+ohne|rechnungsbetrag\s+netto"
    r"|gesamtsumme\s+netto|\bnetto\b|\bh\.?t\.?\b|total\s+sans\s+tva|total\s+\(ht\)"
    r"|subtotaal|totaal\s+excl\w*|\bohne\s+(?:ust|mwst)\b\.?|\bhors\s+t\.?v\.?a\b\.?"
)
_TVA = _cellwise(
    r"(?i)total\s+(?:de\s+(?:la\s+)?)?t\.?v\.?a\.?|total\s+taxes?|montant\s+(?:de\s+(?:la\s+)?)?"
    r"t\.?v\.?a\.?|montant\s+taxes?|\bt\.?v\.?a\b\.?|\btaxes?\b|total\s+vat|vat\s+amount|\bvat\b"
    r"|\btax\b|sales\s+tax|(?<!ohne )mwst|mehrwertsteuer|umsatzsteuer|steuerbetrag|ust\.?-?betrag"
    r"|(?<!ohne )\bust\b\.?"
    r"|\bbtw\b"
)
_TTC = _cellwise(
    r"(?i)total\s*t\.?t\.?c\.?|montant\s*t\.?t\.?c\.?|total\s+toutes\s+taxes|total\s+facture"
    r"|montant\s+total|grand\s+total|total\s+\(?incl\w*|amount\s+incl\w*|total\s+amount"
    r"|invoice\s+total|total\s+invoice|gesamtbetrag(?!\s+der)|rechnungsbetrag|bruttobetrag"
    r"|bruttosumme|gesamtsumme|summe\s+brutto|endbetrag|rechnungssumme(?!\s+ohne)|\bttc\b"
    r"|(?:^|(?<=[ ][ ]))total\b"
    r"(?!\s*(?:h\.?t|hors|tva|vat|excl|net|tax|des|de\s+la|quantit|qt|poids))"
    r"|totaal\s+incl\w*|te\s+betalen"
)
_DUE_AMOUNT = _cellwise(
    r"(?i)net\s+[àa]\s+payer|solde\s+(?:[àa]\s+payer|d[ûu])|reste\s+(?:[àa]\s+payer|d[ûu])"
    r"|montant\s+(?:[àa]\s+payer|d[ûu]|[àa]\s+r[ée]gler)|total\s+[àa]\s+(?:payer|r[ée]gler)"
    r"|[àa]\s+payer|amount\s+due|balance\s+due|total\s+due|amount\s+payable|zahlbetrag"
    r"|zu\s+zahlen|offener\s+betrag|restbetrag|montant\s+pr[ée]lev[ée]"
)
#: A line with one of these is a legal mention or a payment, not a total.
_NOT_TOTAL = re.compile(
    r"(?i)capital|r\.?c\.?s\b|p[ée]nalit|indemnit|recouvrement|escompte|skonto|taux\s+d'int"
    r"|int[ée]r[êe]ts|franco|minimum|acompte\s+(?:vers|re[çc]u|pay)|d[ée]j[àa]\s+(?:vers|r[ée]gl|pay)"
    r"|erhaltene|anzahlung|prepaid|already\s+paid|amount\s+paid|pay[ée]\s+le|r[ée]gl[ée]\s+le"
    r"|minimum|forfait(?:aire)?\s+de\s+40|40\s*(?:€|eur)"
)
_PAID = re.compile(
    r"(?i)acompte|d[ée]j[àa]\s+(?:vers|r[ée]gl|pay)|erhaltene\s+anzahlung|amount\s+paid|prepaid"
    r"|already\s+paid|paiement\s+re[çc]u|r[èe]glement|versement"
)

_BUYER_LABELS = re.compile(
    r"(?i)(?:\bfactur[ée]e?\s+[àa]\b(?!\s+(?:r[ée]gler|payer|l'ordre|retourner))|\badress[ée]e?\s+[àa]|\bclient\s*:|\bclient\b(?!\s*(?:n|no|#))"
    r"|\bdestinataire|\blivr[ée]e?\s+[àa]|\badresse\s+de\s+(?:facturation|livraison)"
    r"|\bbill(?:ed)?\s+to|\bship\s+to|\bcustomer\b|\bsold\s+to|\brechnungsempf[äa]nger"
    r"|\bwarenempf[äa]nger|\bk[äa]ufer\b|\bkunde\b|\blieferanschrift|\bvos\s+identifiants"
    r"|\bvos\s+r[ée]f[ée]rences|\bacheteur|\bbuyer\b|\bpour\s*:|\ban\s*:|\bdoit\b|\bmessieurs"
    r"|[àa]\s+l'attention\s+de)"
)
_BUYER_ID_LABEL = re.compile(
    r"(?i)(?:tva|vat|siret|siren|ust\S*|id)\s+(?:intra\w*\s+)?(?:du\s+)?(?:client|acheteur|customer"
    r"|buyer|kunde\w*)|(?:client|customer|buyer|kunden?|acheteur|votre|vos|your)\W+(?:\w+\W+)?"
    r"(?:n[°º]\s*)?(?:tva|vat|siret|siren|ust)"
)
#: A label heading the block of the company invoiced (its billing address): "Facturé à :".
_BILL_LABEL = re.compile(
    r"(?i)^(?:factur[ée]e?\s+[àa]|[àa]\s+facturer\s+[àa]|adresse\s+de\s+facturation"
    r"|adresse\s+(?:du\s+)?client|client(?:e)?|destinataire|acheteur|soci[ée]t[ée]\s+cliente"
    r"|bill(?:ed|ing)?\s+(?:to|address)|invoice(?:d)?\s+to|sold\s+to|customer|buyer|recipient"
    r"|rechnungs(?:empf[äa]nger|adresse|anschrift)|k[äa]ufer(?:/[\w-]+)?|kunde|auftraggeber"
    r"|leistungsempf[äa]nger|factuur\s+aan|klant|to|an|pour|doit|messieurs)(?!\w)\s*[:.]?"
)
#: A label heading a delivery address: the buyer's name at best, a site of it at worst.
_SHIP_LABEL = re.compile(
    r"(?i)^(?:livr[ée]e?\s+[àa]|adresse\s+de\s+livraison|lieu\s+(?:de\s+)?livraison"
    r"|livraison\s*:|ship(?:ped|ping)?\s+(?:to|address)|deliver(?:ed|y)?\s+(?:to|address)"
    r"|lieferanschrift|lieferadresse|warenempf[äa]nger|afleveradres)(?!\w)\s*[:.]?"
)
#: "Name:", "Raison sociale :" in a block printed as a form: the value is in the next cell.
_NAME_FIELD = re.compile(
    r"(?i)^(?:name|nom(?:\s+d[eu]\s+.{1,25})?|raison\s+sociale|d[ée]nomination|soci[ée]t[ée]|firma"
    r"|firmenname|company(?:\s+name)?|entreprise)\s*:?$"
)
#: A contact person's line of an address block, not the company's name.
_CONTACT_LINE = re.compile(
    r"(?i)^(?:att(?:n|\.|ention)|[àa]\s+l['’]attention|c/o\b|z\.\s?hd|zu\s+h[äa]nden|contact\b)"
)
#: The line of an address that holds its postal code and town ("69001 Lyon", "DE 69876
#: Frankfurt", "D-63571 Gelnhausen", "1025 RX Amsterdam", "75371 Paris Cedex 08").
_POSTCODE = re.compile(
    r"(?i)^(?:[A-Z]{1,2}[- ]?)?\d{4,5}(?:\s?[A-Z]{2}(?=\s))?[ ,]+[A-Za-zÀ-ÿ][^\d@:]*"
    r"(?:\s+cedex(?:\s+\d{1,3})?)?$|^[A-Za-zÀ-ÿ][^\d@:]*,?\s+[A-Z]{2}\s+\d{5}(?:-\d{4})?$"
    r"|^[A-Z]{1,2}\d[A-Z\d]?\s+\d[A-Z]{2}\b"
)
#: What only a seller prints in its own address block: legal mentions, bank, web site.
_SELLER_MARKS = re.compile(
    r"(?i)capital|\brcs\b|r\.c\.s|\bape\b|\bnaf\b|si[èe]ge|www\.|https?:|\.(?:fr|com|de|eu)\b"
    r"|\biban\b|\bbic\b|\bswift\b|handelsregister|\bhrb\b|registergericht|gesch[äa]ftsf[üu]hr"
    r"|steuernummer|\bkvk\b|logo\b|assurance|d[ée]cennale|r[ée]pertoire\s+des\s+m[ée]tiers"
)
#: Ways to reach a company: a seller's letterhead has them, a window address rarely.
_CONTACT_MARKS = re.compile(
    r"(?i)\bt[ée]l\b|\bt[ée]l[ée]phone|\bphone|\bfax\b|e-?mail|@|\bmobile|\bportable|\btel\b"
    r"|^\+?\d{2}[ .]?\d{2}[ .]?\d{2}[ .]?\d{2}[ .]?\d{2}$|^\+\d"
)
_SELLER_LABELS = re.compile(
    r"(?i)\b(?:vendeur|fournisseur|[ée]metteur|prestataire|verk[äa]ufer|lieferant|seller|supplier"
    r"|vendor|from\s*:)"
)
#: A seller's label starting a cell ("Verkäufer:", "Fournisseur :", "From:").
_SELLER_START = re.compile(
    r"(?i)^(?:vendeur|fournisseur|[ée]metteur|exp[ée]diteur|prestataire|verk[äa]ufer|lieferant"
    r"|seller|supplier|vendor|from|absender)(?!\w)\s*[:.]?"
)
#: A street line of an address.
_STREET = re.compile(
    r"\b(?:rue|avenue|av\.|bd|boulevard|chemin|all[ée]e|impasse|place|route|quai|cours|lieu-dit"
    r"|lotissement|r[ée]sidence|b[âa]timent|strasse|stra[ßs]e|str\.|weg|platz|street|road|camino"
    r"|calle|via|laan|straat|postfach|po\s+box)\b|\w(?:stra[ßs]e|str\.|weg|straat|street)\b"
)
#: A line starting with a house number ("93B Sai Yu Chung"): an address line, not a name.
_HOUSE_NUMBER = re.compile(r"^\d+[a-z]?(?:\s*(?:bis|ter))?,?\s+[^\W\d]")
#: A person or a department before the company's name in an address block.
_PERSON_LINE = re.compile(
    r"(?i)^(?:m\.|mme|mlle|mr\.?|mrs\.?|ms\.?|monsieur|madame|messieurs|herr|frau|dr\.?)\s"
    r"|^(?:service|d[ée]partement|dpt|direction|comptabilit[ée]|accounts?\s+payable|abteilung"
    r"|buchhaltung)\b"
)
_LEGAL_FORMS = (
    r"SAS|SASU|SARL|EURL|SA|SNC|SCI|SCOP|SCM|SELARL|SELAS|EI|EIRL|GmbH|AG|KG|OHG|UG|Ltd|Limited"
    r"|LLC|Inc\.?|B\.V\.|BV|S\.A\.|S\.L\.|SRL|S\.r\.l\.|SpA|GIE"
)
#: A name that starts in lower case: "iViveLabs", "eBay", "de Lattre Alexis", "van Dijk BV".
_LOWER_START = re.compile(r"[a-z]{1,2}[A-Z]\w|(?:de|du|d'|van|von|der|den|le|la)\s?[A-Z]")
_LEGAL_FORM = re.compile(rf"(?i)\b(?:{_LEGAL_FORMS})\b")
_NOT_NAME = re.compile(
    r"(?i)^(?:facture|factuur|invoice|\w*rechnung|receipt|avoir|note\s+d.honoraires|(?:vendeur|fournisseur|[ée]metteur)\s*:?\s*$|credit\s+note|gutschrift|page|date|devis|original"
    r"|duplicata|tax\s+invoice|conditions?|r[èe]glement|paiement|payment|adresse|client|t[ée]l"
    r"|fax|e-?mail|mail|site|web|contact|objet|r[ée]f|votre|vos|notre|nos|merci|total|montant"
    r"|description|d[ée]signation|qt[ée]|quantit|prix|tva|vat|siret|siren|rcs|iban|bic|code"
    r"|commande|livraison|bon|n[°º]|num[ée]ro|capital|si[èe]ge|stylesheet|zugferd|codelisten"
    r"|anwendungs|w[äa]hrung|nummer|globale|verk[äa]ufer|k[äa]ufer|telefon|steuernummer|ust"
    r"|handelsrechnung|qualifizierung|bill|ship|sold|customer|mentions|escompte|p[ée]nalit"
    r"|\(c\)|www\.|http|france\b|deutschland|germany|incoterm|id\b|line\s|ligne\s|tel\b|nom\s)"
)
_RATE = re.compile(r"(?<![\d.,])(\d{1,2}(?:[.,]\d{1,2})?)\s?%")
_BARE_RATE = re.compile(r"(?<![\d.,])(\d{1,2}(?:[.,]\d{1,2})?)(?![\d.,%])")
_CREDIT = re.compile(
    r"(?i)^\s*(?:facture\s+d'?)?avoir\b|\bavoir\s*(?:n[°oº]|num[ée]ro|#|\w*-?\d)|credit\s+note"
    r"|gutschrift|note\s+de\s+cr[ée]dit|facture\s+d'avoir"
)
_PAYMENT = (
    (
        "direct_debit",
        re.compile(r"(?i)pr[ée]l[èe]vement|pr[ée]lev[ée]|direct\s+debit|lastschrift|sepa\s+dd"),
    ),
    (
        "transfer",
        re.compile(
            r"(?i)virement|bank\s+transfer|wire\s+transfer|[üu]berweisung"
            r"|credit\s+transfer|by\s+transfer"
        ),
    ),
    ("cheque", re.compile(r"(?i)ch[èe]que|\bcheck\b|scheck")),
    (
        "card",
        re.compile(
            r"(?i)carte\s+(?:bancaire|bleue|de\s+cr[ée]dit)|\bCB\b|credit\s+card"
            r"|debit\s+card|kreditkarte|\bvisa\b|mastercard|paid\s+by\s+card"
        ),
    ),
    ("cash", re.compile(r"(?i)esp[èe]ces|\bcash\b|\bbar(?:zahlung)?\b")),
)
_REGIME = (
    (
        "reverse_charge",
        re.compile(
            r"(?i)autoliquidation|auto-liquidation|reverse\s+charge|283[- ]2|steuerschuldnerschaft"
            r"|reverse-charge"
        ),
    ),
    (
        "intra_eu",
        re.compile(
            r"(?i)262\s*ter|livraison\s+intracommunautaire|exon[ée]ration\s+de\s+"
            r"tva.*intracommunautaire|intra-?community\s+supply"
            r"|innergemeinschaftliche"
        ),
    ),
    (
        "extra_eu",
        re.compile(
            r"(?i)art(?:icle|\.)?\s*262[- ]I\b(?!\s*ter)|exportation\s+hors\s+UE"
            r"|export\s+outside|ausfuhrlieferung"
        ),
    ),
    (
        "exempt",
        re.compile(
            r"(?i)293\s*B|TVA\s+non\s+applicable|exon[ée]r[ée]e?\s+de\s+TVA"
            r"|VAT\s+exempt|steuerfrei|kleinunternehmer"
        ),
    ),
)
_CURRENCIES = (
    ("EUR", re.compile(r"€|\bEUR\b|\beuros?\b", re.I)),
    ("USD", re.compile(r"\$|\bUSD\b")),
    ("GBP", re.compile(r"£|\bGBP\b")),
    ("CHF", re.compile(r"\bCHF\b")),
)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@dataclass
class _Cell:
    """Words of a line that stand together (separated from the next cell by a wide gap)."""

    line: int
    start: int
    end: int
    text: str
    x0: float
    x1: float


@dataclass
class _Amount:
    line: int
    start: int
    end: int
    value: Decimal
    conf: float = 1.0


@dataclass
class _Cand:
    score: float
    value: Any
    line: int = -1
    conf: float = 1.0  # OCR confidence of the words the value was read from
    rate: Decimal | None = None  # for a VAT amount labelled with its rate ("TVA 20 %")


@dataclass
class _Block:
    """Cells stacked in one column of the first page: an address block, a label and its value.

    ``kind`` is "bill" under a billing label ("Facturé à", "Bill to", "Käufer"), "ship" under a
    delivery label, "seller" under a seller label, None without a label.
    """

    cells: list[_Cell]
    tops: list[float]
    bottoms: list[float]
    kind: str | None = None
    label: _Cell | None = None  # the label cell heading the block (inside it or beside it)

    @property
    def x0(self) -> float:
        return min(c.x0 for c in self.cells)

    @property
    def x1(self) -> float:
        return max(c.x1 for c in self.cells)

    @property
    def top(self) -> float:
        return self.tops[0]

    @property
    def text(self) -> str:
        return "\n".join(c.text for c in self.cells)


def extract_from_text(text: str, *, source: str = "text") -> dict[str, Any]:
    """Read invoice fields from text (French, English, German): its columns are its layout.

    Returns the full fields dictionary (every key present) with a confidence per found field;
    nested confidences are named ``supplier.siren`` etc. Never raises on a string input.
    """
    if not isinstance(text, str) or not text.strip():
        return empty_fields(source)
    text = text[:200_000].replace("\r", "")
    return extract_from_layout(Layout.from_text(text, source=source), source=source)


def extract_from_layout(layout: Layout, *, source: str = "text") -> dict[str, Any]:
    """Read invoice fields from a page layout (text layer, OCR words or text columns)."""
    fields = empty_fields(source)
    fields["reading"] = {"method": "layout"}
    if not layout.lines:
        return fields
    _Reader(layout, fields).run()
    return sign_credit_note(fields)


class _Reader:
    def __init__(self, layout: Layout, fields: dict[str, Any]) -> None:
        self.layout = layout
        self.L: list[Line] = layout.lines[:4000]
        self.lines = [line.text for line in self.L]
        self.text = "\n".join(self.lines)
        self.f = fields
        self.conf: dict[str, float] = fields["confidence"]
        self.offsets = list(itertools.accumulate([0] + [len(x) + 1 for x in self.lines[:-1]]))
        self.cells = [self._cells(i) for i in range(len(self.lines))]
        self.ocr = layout.source == "ocr"
        self._built: list[_Block] = []
        self.blocks = self._blocks()
        self.buyer_zone = self._buyer_zone()
        self.window_cells: list[_Cell] = self._window_beside_letterhead()
        self.per_rate: dict[Decimal, tuple[Decimal | None, Decimal]] = {}
        self.id_spans: list[tuple[int, int]] = []
        self.letter_window: list[_Cell] = []

    # -- geometry --------------------------------------------------------------------------
    def _cells(self, i: int) -> list[_Cell]:
        line = self.L[i]
        out = []
        for m in re.finditer(r"\S+(?: \S+)*", self.lines[i]):
            words = line.words_in(m.start(), m.end())
            x0 = min((w.x0 for w in words), default=0.0)
            x1 = max((w.x1 for w in words), default=0.0)
            out.append(_Cell(i, m.start(), m.end(), m.group(0), x0, x1))
        return out

    def _line_col(self, pos: int) -> tuple[int, int]:
        lo, hi = 0, len(self.offsets) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.offsets[mid] <= pos:
                lo = mid
            else:
                hi = mid - 1
        return lo, pos - self.offsets[lo]

    def _cell_at(self, i: int, col: int) -> _Cell | None:
        for c in self.cells[i]:
            if c.start <= col < c.end:
                return c
        return None

    def _gap_below(self, i: int) -> float:
        """Vertical gap between line ``i`` and the next, in line heights (large across pages)."""
        if i + 1 >= len(self.L) or self.L[i + 1].page != self.L[i].page:
            return 99.0
        a, b = self.L[i], self.L[i + 1]
        h = max(a.y1 - a.y0, 1e-4)
        return (b.y0 - a.y1) / h

    def _below(self, i: int, x0: float, x1: float, depth: int = 3) -> list[_Cell]:
        """Cells of the next lines that overlap ``x0..x1`` horizontally (nearest first)."""
        out: list[_Cell] = []
        for j in range(i + 1, min(i + 1 + depth, len(self.lines))):
            if self._gap_below(j - 1) > 2.5:
                break
            width = x1 - x0
            for c in self.cells[j]:
                overlap = min(c.x1, x1) - max(c.x0, x0)
                if overlap > 0.25 * min(c.x1 - c.x0, width) or (
                    overlap > 0 and abs(c.x1 - x1) < 0.02
                ):
                    out.append(c)
            if out:
                return out
        return out

    def _above(self, i: int, x0: float, x1: float, depth: int = 2) -> list[_Cell]:
        out: list[_Cell] = []
        for j in range(i - 1, max(i - 1 - depth, -1), -1):
            if self._gap_below(j) > 2.5:
                break
            for c in self.cells[j]:
                overlap = min(c.x1, x1) - max(c.x0, x0)
                if overlap > 0.25 * min(c.x1 - c.x0, x1 - x0):
                    out.append(c)
            if out:
                return out
        return out

    def _conf_of(self, i: int, start: int, end: int) -> float:
        words = self.L[i].words_in(start, end)
        return min((w.conf for w in words), default=1.0)

    # -- parties ---------------------------------------------------------------------------
    def _buyer_zone(self) -> list[tuple[int, float, float]]:
        """(line, x0, x1) bands of the customer's block: under or beside a customer label."""
        zone: list[tuple[int, float, float]] = []
        for i, line in enumerate(self.lines):
            for m in _BUYER_LABELS.finditer(line):
                cell = self._cell_at(i, m.start())
                if cell is None or m.start() - cell.start > 3:
                    continue  # "1 rue du Client": a label starts its cell
                # A label that is a column of a table header is not an address block.
                if len(self.cells[i]) > 4 and not line[m.end() :].strip().startswith(":"):
                    continue
                rest_cells = [c for c in self.cells[i] if c.start >= cell.end]
                x0 = cell.x0 - 0.03
                nxt = [c.x0 for c in rest_cells if c.x0 > cell.x1 + 0.15]
                x1 = min(nxt) - 0.01 if nxt else 1.0
                zone.append((i, cell.x0, x1))
                blank = 0
                for j in range(i + 1, min(i + 9, len(self.lines))):
                    if self.L[j].page != self.L[i].page or self._gap_below(j - 1) > 2.2:
                        break
                    inside = [c for c in self.cells[j] if x0 <= c.x0 < x1]
                    # An address block is left-aligned under its label.
                    aligned = [c for c in inside if c.x0 < cell.x0 + 0.08]
                    if not aligned:
                        blank += 1
                        if blank > 1 or inside:
                            break
                        continue
                    if (
                        any(
                            _SELLER_LABELS.match(c.text) or _TOTAL_ANY.search(c.text)
                            for c in inside
                        )
                        or len(inside) > 2
                    ):
                        break
                    zone.append((j, x0, x1))
        # The blocks under a billing label, however far their lines stand apart, up to
        # amounts, payment details or another party.
        for b in self.blocks:
            if b.kind != "bill":
                continue
            for k, c in enumerate(b.cells[:9]):
                if k and (
                    _TOTAL_ANY.search(c.text)
                    or self._party_label(c.text)[0] is not None
                    or re.search(r"(?i)\biban\b|\bbic\b|\d+[.,]\d{2}\b", c.text)
                ):
                    break
                zone.append((c.line, c.x0 - 0.005, c.x1 + 0.005))
        return zone

    def _in_buyer(self, pos: int) -> bool:
        i, col = self._line_col(pos)
        x = self.L[i].x_at(col) if i < len(self.L) else 0.0
        if any(zl == i and x0 <= x < x1 for zl, x0, x1 in self.buyer_zone):
            return True
        before = self.lines[i][max(0, col - 40) : col]
        return bool(_BUYER_ID_LABEL.search(before))

    # -- the buyer's block -----------------------------------------------------------------
    def _cell_y(self, c: _Cell) -> tuple[float, float]:
        words = self.L[c.line].words_in(c.start, c.end)
        if not words:
            return self.L[c.line].y0, self.L[c.line].y1
        return min(w.y0 for w in words), max(w.y1 for w in words)

    def _blocks(self) -> list[_Block]:
        """The cells of the top of the first page stacked in columns, above the line items.

        A cell joins the block of the cell just above it when their left, right or centre edges
        line up and the gap between them is at most a line and a half (a blank line between a
        label and its block); a cell of another column crossing the block ends it. Each block
        is then given the kind of the label that heads it: in its first cell ("Facturé à :"),
        in the cell to its left on its first line ("TO:   Marcel Schaefer") or just above it.
        """
        if not self.L:
            return []
        page = self.L[0].page
        rows = []
        for i, line in enumerate(self.L[:200]):
            if line.page != page or line.y0 > 0.85:
                break
            if len(self.cells[i]) >= 3 and _ITEMS_HEADER.search(self.lines[i]):
                break
            rows.append(i)
        # The line pitch of the page: from each cell to the next one starting at its left edge.
        pitches = []
        for k, i in enumerate(rows):
            for c in self.cells[i]:
                top = self._cell_y(c)[0]
                for j in rows[k + 1 : k + 4]:
                    below = [x for x in self.cells[j] if abs(x.x0 - c.x0) < 0.012]
                    if below:
                        pitches.append(self._cell_y(below[0])[0] - top)
                        break
        pitches.sort()
        pitch = pitches[len(pitches) // 2] if pitches else 1.0
        opened: list[_Block] = []
        done: list[_Block] = []
        for i in rows:
            line = self.L[i]
            joined: list[_Block] = []
            for c in self.cells[i]:
                y0, y1 = self._cell_y(c)
                target = None
                # A party's label starts a block of its own.
                kind, rest = self._party_label(c.text)
                label = kind is not None
                for b in opened if not label else ():
                    if any(b is j for j in joined):
                        continue
                    last = b.cells[-1]
                    h = max(y1 - y0, b.bottoms[-1] - b.tops[-1], 1e-4)
                    # A blank line only between a label and its block.
                    after_label = len(b.cells) == 1 and b.kind == "label"
                    gap, step = y0 - b.bottoms[-1], y0 - b.tops[-1]
                    if step < 0.3 * h or (
                        gap > (1.6 if after_label else 1.35) * h
                        and step > (2.6 if after_label else 1.6) * pitch
                    ):
                        continue
                    # A block keeps its size, but for a name printed larger on its first line
                    # (a sender's line in small print above an address is not part of it).
                    size, above = y1 - y0, b.bottoms[-1] - b.tops[-1]
                    if max(size, above) > 1.4 * max(min(size, above), 1e-4) and (
                        len(b.cells) > 1 or size > above
                    ):
                        continue
                    if (
                        abs(c.x0 - last.x0) < 0.012
                        or abs(c.x1 - last.x1) < 0.012
                        or abs(c.x0 + c.x1 - last.x0 - last.x1) < 0.02
                    ):
                        target = b
                        break
                if target is None:
                    target = _Block([], [], [], "label" if label and not rest else None)
                    opened.append(target)
                target.cells.append(c)
                target.tops.append(y0)
                target.bottoms.append(y1)
                joined.append(target)
            for b in list(opened):
                if any(b is j for j in joined):
                    continue
                h = max(b.bottoms[-1] - b.tops[-1], 1e-4)
                crossed = any(
                    min(c.x1, b.x1) - max(c.x0, b.x0) > 0 and self._cell_y(c)[0] > b.bottoms[-1]
                    for c in self.cells[i]
                )
                if crossed or line.y0 - b.bottoms[-1] > 2.0 * h:
                    opened.remove(b)
                    done.append(b)
        done += opened
        done.sort(key=lambda b: (b.top, b.x0))
        self._built = done
        for b in done:
            b.kind = None
            self._label_block(b)
        return done

    def _heads_block(self, cell: _Cell) -> bool:
        return any(b.cells[0] is cell and len(b.cells) > 1 for b in self._built)

    @staticmethod
    def _party_label(text: str) -> tuple[str | None, str]:
        """The party a label at the start of a cell announces ("bill", "ship", "seller"), and
        the rest of the cell. A one-word label is a label only with its colon or alone in its
        cell: "Client :" is one, "Client 1" or "Lieferant GmbH" are names."""
        for kind, pattern in (
            ("bill", _BILL_LABEL),
            ("ship", _SHIP_LABEL),
            ("seller", _SELLER_START),
        ):
            m = pattern.match(text.strip())
            if not m:
                continue
            after = text.strip()[m.end() :]
            rest = after.strip(" :.-–")
            if after.rstrip().endswith(":") and len(rest.split()) <= 2:
                rest = ""  # "Bill to Address:", "Client - Adresse :"
            colon = ":" in m.group(0) or after.lstrip().startswith(":")
            if rest and not colon and len(m.group(0).split()) < 2:
                return None, text
            return kind, rest
        return None, text

    def _label_block(self, b: _Block) -> None:
        first = b.cells[0]
        kind, _rest = self._party_label(first.text)
        if kind is not None:
            b.kind, b.label = kind, first
            return
        # The label on the left of the first line, or just above the block.
        # (A label heading a block of its own below it is not this block's.)
        left = [c for c in self.cells[first.line] if c.x1 <= first.x0]
        if left and first.x0 - left[-1].x1 < 0.2 and not self._heads_block(left[-1]):
            kind, rest = self._party_label(left[-1].text)
            if kind is not None and not rest:
                b.kind, b.label = kind, left[-1]
                return
        h = max(b.bottoms[0] - b.tops[0], 1e-4)
        for j in range(first.line - 1, max(first.line - 4, -1), -1):
            for c in self.cells[j]:
                y0, y1 = self._cell_y(c)
                if y1 > b.top + 0.3 * h or b.top - y1 > 2.2 * h:
                    continue
                if min(c.x1, b.x1) - max(c.x0, b.x0) <= 0:
                    continue
                kind, rest = self._party_label(c.text)
                if kind is not None and not rest:
                    b.kind, b.label = kind, c
                    return

    def _block_name(self, b: _Block) -> tuple[str, _Cell] | None:
        """The name of a party's block: its first name-like line, before its address."""
        cells = b.cells
        if b.label is cells[0]:
            _kind, rest = self._party_label(cells[0].text)
            if rest and self._name_like(rest):
                return rest, cells[0]
            cells = cells[1:]
        attention: tuple[str, _Cell] | None = None
        for k, c in enumerate(cells[:4]):
            text = c.text.strip(" :-–,")
            if _NAME_FIELD.match(text):
                nxt = [x for x in self.cells[c.line] if x.x0 > c.x1]
                if nxt and self._name_like(nxt[0].text.strip()):
                    return nxt[0].text.strip(), nxt[0]
                continue
            contact = _CONTACT_LINE.match(text)
            if contact:
                # "ATTN: iViveLabs Limited" with no other name: the name it gives.
                rest = re.sub(r"^(?:\s*(?:de|of|:|\.))+\s*", "", text[contact.end() :])
                if attention is None and self._name_like(rest):
                    attention = (rest, c)
                continue
            folded = _fold(text).lower()
            if (
                _LEGAL_FORM.search(text)
                and not re.search(r"\d", text)
                and self._name_like(text, strict=False, address=True)
            ):
                return text, c  # "Bâtiment Bernard SAS": a company, whatever its words
            if _STREET.search(folded) or _POSTCODE.match(text) or _HOUSE_NUMBER.match(folded):
                return attention  # the address: the name, if any, was above
            if _PERSON_LINE.match(text):
                # "M. Jean Dupont", "Service comptabilité": the company may come next.
                if attention is None and self._name_like(text, strict=False):
                    attention = (text, c)
                continue
            if self._name_like(text):
                return text, c
            if (
                k == 0
                and b.kind is None
                and _BILL_LABEL.match(text)
                and self._name_like(text, strict=False)
            ):
                return text, c  # "CLIENT 1" heading an address block is a name
        return attention

    @staticmethod
    def _is_address(b: _Block) -> bool:
        """A postal address: a postal-code line (or a street line) after the first line."""
        return len(b.cells) >= 2 and any(
            _POSTCODE.match(c.text.strip()) or _STREET.search(_fold(c.text).lower())
            for c in b.cells[1:8]
        )

    # -- main ------------------------------------------------------------------------------
    def run(self) -> None:
        self._identifiers()
        self._number()
        self._dates()
        self._terms()
        self._totals()
        self._misc()

    def _identifiers(self) -> None:
        """Company identifiers grouped by company, each company given a role.

        Every valid SIRET, SIREN (after a SIREN/RCS label) and VAT number is found; those of one
        company agree (FRkk + SIREN, SIRET = SIREN + NIC) and are grouped. A company is the
        seller when its identifiers stand in the seller's legal mentions (share capital, RCS,
        APE) or at the top of the page, the buyer when they stand in the customer's block or
        after a customer label; the buyer's identifiers are never the supplier's.
        """
        sup, buyer = self.f["supplier"], self.f["buyer"]
        text = self.text
        for pos, value in iter_ibans(text):
            self.id_spans.append((pos, pos + len(value) + 6))
            if sup["iban"] is None and not self._in_buyer(pos):
                sup["iban"] = value
                self.conf["supplier.iban"] = 0.9 * self._pos_conf(pos, len(value))
        if sup["iban"] is None:
            self._unchecked_iban()
        found: list[tuple[str, int, str]] = []  # (kind, position, value)
        for pos, value in iter_sirets(text):
            found.append(("siret", pos, value))
        for pos, value in iter_vat_numbers(text):
            found.append(("vat_number", pos, value))
        found += self._wrapped_identifiers()
        siret_spans = [(p, p + 20) for k, p, _ in found if k == "siret"]
        for pos, value in iter_sirens(text):
            if any(a <= pos < b for a, b in siret_spans):
                continue
            ctx = text[max(0, pos - 30) : pos]
            if re.search(r"(?i)siren|rcs|r\.c\.s|siret|immatricul|registre", ctx):
                found.append(("siren", pos, value))
        for _kind, pos, value in found:
            self.id_spans.append((pos, pos + len(value) + 4))
        companies: dict[str, dict[str, Any]] = {}
        for kind, pos, value in sorted(found, key=lambda x: x[1]):
            key = value[:9] if kind in ("siret", "siren") else value
            if kind == "vat_number" and value.startswith("FR"):
                key = valid_siren(value[4:]) or value
            company = companies.setdefault(key, {"ids": {}, "score": 0.0, "first": pos})
            company["ids"].setdefault(kind, (pos, value))
            company["score"] += self._role_score(pos, kind)
        if not companies:
            self._complete_parties()
            return
        ranked = sorted(companies.values(), key=lambda c: (-c["score"], c["first"]))
        seller = ranked[0] if ranked[0]["score"] > -1.5 else None
        for company in ranked:
            target = sup if company is seller else buyer
            unlabelled = not any(self._in_buyer(p) for p, _ in company["ids"].values())
            if company is not seller and unlabelled and buyer["siren"] is not None:
                continue  # a third company: leave it out rather than guess
            for kind, (pos, value) in company["ids"].items():
                if target[kind] is None:
                    target[kind] = value
                    if target is buyer:
                        # Labelled as the client's, or only placed where a client stands.
                        base = 0.9 if self._in_buyer(pos) else 0.8
                        self.conf[f"buyer.{kind}"] = round(
                            base * self._pos_conf(pos, len(value)), 2
                        )
                    if target is sup:
                        base = 0.95 if company["score"] >= 1 else 0.8
                        if len(ranked) > 1 and ranked[1]["score"] >= company["score"] - 0.5:
                            base -= 0.15  # two companies hard to tell apart
                        self.conf[f"supplier.{kind}"] = round(
                            base * self._pos_conf(pos, len(value)), 2
                        )
            if target is sup:
                if sup["siren"] is None and sup["siret"]:
                    sup["siren"] = sup["siret"][:9]
                    self.conf["supplier.siren"] = self.conf["supplier.siret"]
                vat = sup["vat_number"] or ""
                if sup["siren"] is None and vat.startswith("FR") and valid_siren(vat[4:]):
                    sup["siren"] = valid_siren(vat[4:])
                    self.conf["supplier.siren"] = self.conf["supplier.vat_number"]
        self._complete_parties()

    def _wrapped_identifiers(self) -> list[tuple[str, int, str]]:
        """A VAT number or SIRET cut by the end of a line ("... TVA : FR26 826" / "662 652")."""
        out = []
        for i in range(len(self.lines) - 1):
            tail = re.search(r"([A-Z]{2}[ ]?\d[\d ]{0,12}|\d[\d ]{2,12})$", self.lines[i].rstrip())
            head = re.match(r"\s*(\d[\d ]{1,12})", self.lines[i + 1])
            if not tail or not head or self._gap_below(i) > 1.5:
                continue
            joined = tail.group(1) + " " + head.group(1)
            pos = self.offsets[i] + tail.start(1)
            for kind, finder in (("vat_number", iter_vat_numbers), ("siret", iter_sirets)):
                for _p, value in finder(joined):
                    # Only a number that neither line holds whole.
                    if value not in re.sub(r"\s", "", self.lines[i] + self.lines[i + 1]):
                        continue
                    if not any(
                        value in re.sub(r"\s", "", x) for x in (tail.group(1), head.group(1))
                    ):
                        out.append((kind, pos, value))
        return out

    def _role_score(self, pos: int, kind: str) -> float:
        """How much one identifier's place says "seller" (positive) or "buyer" (negative)."""
        if self._in_buyer(pos):
            return -3.0
        i, col = self._line_col(pos)
        line = self.lines[i]
        score = 0.5
        x = self.L[i].x_at(col)
        if any(c.line == i and c.x0 - 0.005 <= x < c.x1 + 0.005 for c in self.window_cells):
            score -= 1.5  # in the window address beside the seller's letterhead
        if re.search(
            r"(?i)capital|\brcs\b|r\.c\.s|\bape\b|\bnaf\b|immatricul|si[èe]ge|registergericht"
            r"|handelsregister|\bhrb\b|gesch[äa]ftsf[üu]hrer",
            line,
        ):
            score += 1.5
        before = line[max(0, col - 30) : col]
        if re.search(r"(?i)tva|vat|ust|mwst|steuer|btw|iva|siren|siret", before):
            score += 0.3
        y = self.L[i].y0
        x = self.L[i].x_at(col)
        if self.L[i].page == self.L[0].page and y < 0.25:
            score += 0.5
            if x > 0.45 and y > 0.08:
                score -= 0.6  # where the window envelope shows the recipient's address
        if y > 0.85:
            score += 1.0  # the footer's legal mentions are the seller's
        return score

    def _complete_parties(self) -> None:
        """Checksum-failing identifiers, derived identifiers, countries and names."""
        sup, buyer = self.f["supplier"], self.f["buyer"]
        self._unchecked_ids()
        if buyer["siret"] and not buyer["siren"]:
            buyer["siren"] = buyer["siret"][:9]
            self.conf["buyer.siren"] = self.conf.get("buyer.siret", 0.8)
        if buyer["vat_number"] and not buyer["siren"] and buyer["vat_number"].startswith("FR"):
            buyer["siren"] = valid_siren(buyer["vat_number"][4:])
            self.conf["buyer.siren"] = self.conf.get("buyer.vat_number", 0.8)
        if buyer["vat_number"]:
            buyer["country"] = vat_country(buyer["vat_number"])
        for key in ("siren", "siret", "vat_number", "country"):
            if buyer[key]:
                self.conf.setdefault(f"buyer.{key}", 0.8)
            else:
                self.conf.pop(f"buyer.{key}", None)
        if sup["vat_number"]:
            sup["country"] = vat_country(sup["vat_number"])
        elif sup["siren"]:
            sup["country"] = "FR"
        elif sup["iban"]:
            sup["country"] = sup["iban"][:2]
        if sup["country"]:
            self.conf["supplier.country"] = 0.8
        self.letter_window = self._letter_window()
        self._supplier_name()
        self._buyer_name()

    def _unchecked_iban(self) -> None:
        """An IBAN printed after its label whose check digits do not verify: low confidence."""
        m = re.search(
            r"(?i)\biban\b[ ]*[:.]?[ ]*([A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{1,4}){3,8})(?![A-Z0-9])",
            self.text,
        )
        if not m or self._in_buyer(m.start()):
            return
        value = re.sub(r"\s", "", m.group(1)).upper()
        if 15 <= len(value) <= 34:
            self.f["supplier"]["iban"] = value
            self.conf["supplier.iban"] = 0.5

    def _unchecked_ids(self) -> None:
        """VAT number, SIREN or SIRET printed after their label but failing their checksum:
        read as printed with a low confidence, so that the review shows and checks them; the
        buyer's too when they stand in its block, except on scans."""
        for m in _UNCHECKED_ID.finditer(self.text):
            if any(a <= m.start(1) < b for a, b in self.id_spans):
                continue  # a valid identifier, already given its company
            in_buyer = self._in_buyer(m.start(1))
            if in_buyer and self.ocr:
                continue  # on a scan, a failing checksum is more often the OCR's
            party = "buyer" if in_buyer else "supplier"
            target = self.f[party]
            raw = re.sub(r"[\s.]", "", m.group(1)).upper()
            kind = "vat_number" if raw[:2].isalpha() else {9: "siren", 14: "siret"}.get(len(raw))
            if kind is None or target[kind] is not None:
                continue
            if kind == "vat_number" and raw[:2] not in EU_VAT_PREFIXES | {"CH", "GB", "NO"}:
                continue
            target[kind] = raw
            self.conf[f"{party}.{kind}"] = 0.45
            if kind == "siret" and target["siren"] is None:
                target["siren"] = raw[:9]
                self.conf[f"{party}.siren"] = 0.45

    def _pos_conf(self, pos: int, length: int) -> float:
        i, col = self._line_col(pos)
        if not self.ocr:
            return 1.0
        return 0.6 + 0.4 * self._conf_of(i, col, col + length)

    def _name_like(self, chunk: str, *, strict: bool = True, address: bool = False) -> bool:
        """A company name: capitalised words, not a label, an address or a phrase (``strict``
        False: words that begin a label may begin the name, "CLIENT 1"; ``address``: words
        of an address may too, "Bâtiment Bernard SAS")."""
        if len(chunk) < 2 or len(chunk) > 60:
            return False
        if not (chunk[0].isupper() or chunk[0].isdigit() or re.match(_LOWER_START, chunk)):
            return False  # a capital first, or just after ("iViveLabs", "de Lattre Alexis")
        folded = _fold(chunk).lower()
        if (strict and _NOT_NAME.match(folded)) or (not address and _ADDRESS.search(folded)):
            return False
        if re.search(r"\d{3,}|@|www\.|https?:|:|€|\d+[.,]\d{2}|\.{2,}", chunk):
            return False
        if re.search(r"(?i)\b(?:ht|ttc|tva|vat|p\.?u\.?|qt[ée]|montant|total)\b", chunk):
            return False  # a column heading
        letters = re.findall(r"[A-Za-zÀ-ÿ]", chunk)
        return len(letters) >= 2 and len(chunk.split()) <= 7

    def _supplier_name(self) -> None:
        """The seller's name: big letters at the top, a legal form, the web site's domain."""
        sup = self.f["supplier"]
        candidates: list[tuple[float, str]] = []
        heights = sorted(line.y1 - line.y0 for line in self.L[:60]) or [0.01]
        median_h = heights[len(heights) // 2] or 0.01
        domains = {
            re.sub(r"[^a-z0-9]", "", d)
            for d in re.findall(r"(?i)(?:www\.|@|https?://)([a-z0-9-]+)\.", self.text)
        }
        first_page = []
        for i, line in enumerate(self.L[:80]):
            if line.page != self.L[0].page:
                break
            if len(self.cells[i]) >= 3 and _ITEMS_HEADER.search(self.lines[i]):
                break  # the line items start: no seller's name below
            first_page.append(i)
        for i in first_page:
            line = self.L[i]
            top = line.y0
            cells = self.cells[i]
            for k, cell in enumerate(cells):
                pos = self.offsets[i] + cell.start
                if self._in_buyer(pos) or any(cell is c for c in self.letter_window):
                    continue
                chunk = re.split(r"\s[-–|•]\s|,\s", cell.text)[0].strip(" :-")
                if k + 1 < len(cells) and re.fullmatch(
                    rf"(?i)(?:{_LEGAL_FORMS})\.?", cells[k + 1].text.strip()
                ):
                    chunk = f"{chunk} {cells[k + 1].text.strip()}"  # "Lieferant   GmbH" (OCR)
                # "Amazon Web Services Invoice": the document's title is not the name.
                chunk = _TITLE_TAIL.sub("", chunk).strip(" :-")
                if not self._name_like(chunk) or _LEGAL_FORM.fullmatch(chunk):
                    continue
                score = 1.0 - min(top, 1.0) * 2
                if _LEGAL_FORM.search(chunk):
                    score += 1.0
                size = (line.y1 - line.y0) / median_h
                if size > 1.25:
                    score += min(size - 1.0, 1.0)
                if chunk.isupper() and len(chunk) > 3:
                    score += 0.1
                if i > 0 and _SELLER_LABELS.search(self.lines[i - 1]):
                    score += 1.0
                squashed = re.sub(r"[^a-z0-9]", "", _fold(_LEGAL_FORM.sub("", chunk)).lower())
                if len(squashed) >= 3 and any(squashed in d or d in squashed for d in domains):
                    score += 1.2
                candidates.append((score, chunk))
        # "X SARL au capital de ..." in the legal mentions names the seller.
        for m in re.finditer(
            r"(?im)^\s*([A-Z][\w&'. -]{2,60}?)[, -]+(?:" + _LEGAL_FORMS + r")\b[^\n]{0,20}capital",
            self.text,
        ):
            name = m.group(1).strip()
            if not self._in_buyer(m.start(1)) and self._name_like(name):
                candidates.append((1.6, name))
        if candidates:
            score, name = max(candidates, key=lambda c: c[0])
            sup["name"] = name
            self.conf["supplier.name"] = 0.75 if score > 1.4 else 0.5

    def _buyer_name(self) -> None:
        """The buyer's name, from the first name-like line of its block.

        A block under a billing label ("Facturé à", "Bill to", "Client :", "Käufer") gives it
        surely. Without one, the address block opposite the seller's (a window envelope's
        address, top right in France, under the sender's line in Germany) gives it when it is
        the only address block of the page's top that shows no sign of being the seller's:
        legal mentions, web site, phone or e-mail, the seller's identifiers or name; then a
        delivery address ("Livré à", "Ship to"), less surely. Position alone stays below 0.9.
        """
        buyer, sup = self.f["buyer"], self.f["supplier"]
        named: list[tuple[_Block, str, _Cell]] = []
        for b in self.blocks:
            found = self._block_name(b)
            if found is not None and not self._same_name(found[0], sup["name"]):
                named.append((b, found[0], found[1]))
        bill = [x for x in named if x[0].kind == "bill"]
        ship = [x for x in named if x[0].kind == "ship"]
        window = [x for x in named if x[0].kind is None and self._window_block(x[0])]
        if bill:
            choice, conf = bill[0], 0.9
        elif window and all(self._same_name(w[1], window[0][1]) for w in window):
            # One window address (or several naming the same company: "Nom de l'abonné").
            choice, conf = window[0], 0.6
            if any(self._same_name(s[1], choice[1]) for s in ship):
                conf = 0.8  # the delivery address names the same company
        elif ship:
            choice, conf = ship[0], 0.6
        else:
            return
        _b, name, cell = choice
        buyer["name"] = name
        if self.ocr:
            conf *= 0.6 + 0.4 * self._conf_of(cell.line, cell.start, cell.end)
        self.conf["buyer.name"] = round(conf, 2)

    def _window_beside_letterhead(self) -> list[_Cell]:
        """The cells of an address block that the page's layout alone shows to be the
        addressee's: unlabelled, with nothing of a seller's (legal mentions, web site, phone,
        e-mail), the only one of its kind at the top of the first page, starting lower than a
        letterhead that has them and standing apart from it (the other column). Identifiers
        in it lean to the buyer; legal mentions elsewhere still outweigh them."""
        if any(b.kind == "bill" for b in self.blocks):
            return []

        def marked(b: _Block) -> bool:
            return bool(_SELLER_MARKS.search(b.text)) or any(
                _CONTACT_MARKS.search(c.text.strip()) for c in b.cells
            )

        plain = [
            b
            for b in self.blocks
            if b.kind is None and self._is_address(b) and b.top < 0.5 and not marked(b)
        ]
        if len(plain) != 1:
            return []
        window = plain[0]
        for b in self.blocks:
            if b is window or not self._is_address(b) or not marked(b):
                continue
            apart = min(b.x1, window.x1) - max(b.x0, window.x0) <= 0
            if apart and b.top < window.top - 0.01:
                return window.cells
        return []

    def _letter_window(self) -> list[_Cell]:
        """The cells of the addressee's block when a letter is laid out plainly: one window
        address block below the seller's letterhead (a block with its phone, web site or legal
        mentions), and no labelled customer block. Its name is never the seller's."""
        if any(b.kind == "bill" for b in self.blocks):
            return []
        windows = [b for b in self.blocks if b.kind is None and self._window_block(b)]
        if len(windows) != 1:
            return []
        window = windows[0]
        letterhead = [
            b
            for b in self.blocks
            if b is not window
            and b.top < window.top - 0.01
            and (
                _SELLER_MARKS.search(b.text) or any(_CONTACT_MARKS.search(c.text) for c in b.cells)
            )
        ]
        return window.cells if letterhead else []

    def _window_block(self, b: _Block) -> bool:
        """An unlabelled address block at the top of the first page that is not the seller's."""
        if not self._is_address(b) or b.top > 0.5:
            return False
        if _SELLER_MARKS.search(b.text) or any(
            _CONTACT_MARKS.search(c.text.strip()) for c in b.cells
        ):
            return False
        squashed = re.sub(r"[\W_]", "", b.text).upper()
        sup = self.f["supplier"]
        own = [sup[k] for k in ("siren", "vat_number", "iban") if sup[k]]
        if any(ident in squashed for ident in own):
            return False
        # The seller must show itself elsewhere: its identifiers, its letterhead, its name.
        text = self.text
        elsewhere = any(ident in re.sub(r"[\W_]", "", text).upper() for ident in own) or any(
            o is not b and (o.kind == "seller" or _SELLER_MARKS.search(o.text)) for o in self.blocks
        )
        return elsewhere

    @staticmethod
    def _same_name(a: str | None, b: str | None) -> bool:
        if not a or not b:
            return False
        keys = []
        for name in (a, b):
            folded = _fold(_LEGAL_FORM.sub(" ", name)).lower()
            keys.append(re.sub(r"[\W_]", "", folded))
        x, y = keys
        return bool(x and y) and (x == y or (min(len(x), len(y)) >= 4 and (x in y or y in x)))

    # -- invoice number --------------------------------------------------------------------
    def _number_value(self, segment: str) -> tuple[int, str] | None:
        m = re.match(r"[\s:#.°º]*", segment)
        offset = m.end() if m else 0
        vm = _NUMBER_VALUE.match(segment, offset)
        if vm is None:
            return None
        value = vm.group(0).rstrip(".-/_:")
        if not self._number_like(value):
            return None
        return vm.start(), value

    def _number_like(self, value: str) -> bool:
        if len(value) < 2 or not re.search(r"\d", value):
            return False
        if re.fullmatch(r"\d{1,4}[/.-]\d{1,2}[/.-]\d{2,4}", value):
            return False
        if re.fullmatch(r"\d+[.,]\d{2}", value):  # an amount
            return False
        if re.fullmatch(r"\d{1,2}", value):
            return False
        compact = re.sub(r"[\s.\-]", "", value).upper()
        sup, buyer = self.f["supplier"], self.f["buyer"]
        for ident in (sup["siren"], sup["siret"], sup["vat_number"], buyer["vat_number"]):
            if ident and compact == ident:
                return False
        return True

    def _number(self) -> None:
        cands: list[_Cand] = []
        credit_note = bool(_CREDIT.search("\n".join(self.lines[:25])))
        for i, line in enumerate(self.lines):
            taken: list[tuple[int, int]] = []
            for pattern, base in (
                (_NUMBER_STRONG, 0.95),
                (_NUMBER_TITLE, 0.85),
                (_NUMBER_WEAK, 0.7),
            ):
                for m in pattern.finditer(line):
                    if any(s <= m.start() < e for s, e in taken) or "  " in m.group(0).strip():
                        continue  # taken, or a label spread over two cells
                    taken.append((m.start(), m.end()))
                    score = base
                    if _REFERRED.search(line[max(0, m.start() - 30) : m.start()]):
                        # "Avoir sur facture n° FA-12", "Facture d'origine": another invoice.
                        score -= 0.45
                    elif credit_note and not re.search(r"(?i)avoir|credit|gutschrift", m.group(0)):
                        score -= 0.3  # on a credit note, "facture n°" is the original invoice
                    if pattern is _NUMBER_WEAK:
                        if _ITEMS_HEADER.search(line):
                            continue  # "Réf." heading a column of article references
                        before = line[max(0, m.start() - 25) : m.start()]
                        if _OTHER_REFERENCE.search(before) or _OTHER_REFERENCE.match(
                            line[m.end() : m.end() + 12]
                        ):
                            continue
                        if re.match(
                            r"(?i)\s*(?:client|commande|tva|vat|siret|t[ée]l)", line[m.end() :]
                        ):
                            continue
                        if _INVOICE_WORDS.search(line[max(0, m.start() - 30) : m.start()]):
                            score = 0.9
                        elif any(
                            _NUMBER_TITLE.search(self.lines[j] + " ")
                            for j in range(max(0, i - 2), i)
                        ):
                            score = 0.85  # "FACTURE" just above: "Numéro : FAC-25-0186"
                    if pattern is _NUMBER_TITLE:
                        # "Facture FA-2017-0010": the title followed by its number.
                        after = line[m.end() :]
                        if re.match(
                            r"\s*(?:de|du|d'|des|à|a|pour|par|en|sur|le|la)\b", after, re.I
                        ):
                            continue
                    found = self._number_value(line[m.end() :])
                    if found is not None:
                        col = m.end() + found[0]
                        if pattern is _NUMBER_TITLE and col - m.end() > 6:
                            score -= 0.1
                        cands.append(
                            _Cand(score, found[1], i, self._conf_of(i, col, col + len(found[1])))
                        )
                        continue
                    # Label alone: the value in the next cell of the line or in the cell below.
                    cell = self._cell_at(i, m.start())
                    rest = line[m.end() : cell.end] if cell else ""
                    if cell is not None and not rest.strip(" :#.°"):
                        nxt = [c for c in self.cells[i] if c.start >= cell.end]
                        if nxt and pattern is not _NUMBER_TITLE:
                            found = self._number_value(nxt[0].text)
                            if found is not None:
                                cands.append(_Cand(score - 0.05, found[1], i))
                                continue
                        for c in self._below(i, cell.x0, cell.x1, depth=2):
                            found = self._number_value(c.text)
                            if found is not None:
                                cands.append(
                                    _Cand(
                                        score - (0.1 if pattern is not _NUMBER_TITLE else 0.15),
                                        found[1],
                                        c.line,
                                    )
                                )
                                break
        if not cands:
            cands = self._unlabelled_number()
        if cands:
            best = max(cands, key=lambda c: (c.score, -c.line))
            self.f["invoice_number"] = best.value
            conf = best.score
            if self.ocr:
                conf *= 0.6 + 0.4 * best.conf
            # Two labels giving two different numbers: less sure.
            if any(c.value != best.value and c.score >= best.score - 0.05 for c in cands):
                conf -= 0.15
            self.conf["invoice_number"] = round(max(conf, 0.3), 2)

    def _unlabelled_number(self) -> list[_Cand]:
        """A reference standing alone near the title "FACTURE" at the top of the first page."""
        title = None
        for i, line in enumerate(self.lines[:40]):
            if re.search(r"(?i)^\s*(?:facture|invoice|rechnung|avoir)\b", line.strip()):
                title = i
                break
        out = []
        for i, line in enumerate(self.L[:60]):
            if line.page != self.L[0].page or line.y0 > 0.4:
                continue
            for cell in self.cells[i]:
                token = cell.text.strip()
                if not re.fullmatch(r"[A-Z0-9][A-Z0-9\-/_.]{3,20}", token, re.I):
                    continue
                digits = sum(ch.isdigit() for ch in token)
                if digits < 3 or not self._number_like(token):
                    continue
                if re.fullmatch(r"\d{5}|0\d{9}|\d{2}(?:[ .]\d{2}){4}", token):
                    continue  # a postcode or a phone number
                if not re.search(r"[A-Z\-/_]", token, re.I) and digits < 5:
                    continue
                near = title is not None and abs(i - title) <= 3
                out.append(_Cand(0.5 if near else 0.35, token, i, 1.0))
        return out

    # -- dates -----------------------------------------------------------------------------
    @staticmethod
    def _kind_of(label: str) -> tuple[str | None, int]:
        """The kind given by the label word nearest to the end of ``label``, and its position."""
        best: tuple[str | None, int] = (None, -1)
        for kind, pattern in _DATE_KINDS:
            for m in pattern.finditer(label):
                # Nearest to the date wins; at the same position, the earlier kind in the list.
                if m.end() > best[1]:
                    best = (kind, m.end())
        if best[0] is None:
            weak = list(_DATE_WEAK.finditer(label))
            if weak:
                return "weak", weak[-1].end()
        return best

    def _dates(self) -> None:
        found = []
        for start, end, value in iter_dates(self.text):
            i, col = self._line_col(start)
            found.append((i, col, end - start, value))
        if not found:
            return
        inv: list[_Cand] = []
        due: list[_Cand] = []
        today = date.today()
        number_line = None
        if self.f["invoice_number"]:
            for i, line in enumerate(self.lines):
                if self.f["invoice_number"] in line:
                    number_line = i
                    break
        prev_end: dict[int, int] = {}
        for i, col, length, value in found:
            if value > today + timedelta(days=400) or value.year < 1990:
                continue
            line = self.lines[i]
            cell = self._cell_at(i, col)
            left_start = prev_end.get(i, 0)
            prev_end[i] = col + length
            if cell is not None and cell.start == col:
                # The value starts its cell: its label is the previous cell of the line, however
                # far ("À payer avant le ........ 30/06/2026").
                before = [c for c in self.cells[i] if c.end <= col and c.start >= left_start]
                left = before[-1].text + " " if before else ""
            else:
                start = max(left_start, col - 50, cell.start if cell is not None else 0)
                left = line[start:col]
            kind, _pos = self._kind_of(left)
            # "du 01/01/2026 au 31/01/2026": both ends of a period.
            after = line[col + length : col + length + 6]
            if re.match(r"(?i)\s*(?:au|bis|to|-|–)\s", after) and re.search(
                r"(?i)\b(?:du|vom|from)\s*$", left
            ):
                kind = "other"
            conf = self._conf_of(i, col, col + length) if self.ocr else 1.0
            label_near = bool(left.strip())
            if cell is not None and (kind is None or (cell.start == col and not left.strip())):
                # No label on the line before the date: the header above, as in a table.
                head = " ".join(c.text for c in self._above(i, cell.x0, cell.x1))
                hkind, _ = self._kind_of(head)
                if hkind is not None:
                    kind, label_near, left = hkind, True, head
            if kind == "due":
                due.append(_Cand(0.95 if label_near else 0.8, value, i, conf))
            elif kind == "invoice":
                score = 0.9
                if _INVOICE_WORDS.search(left[-40:]) and re.search(r"(?i)dat", left[-40:]):
                    score = 0.97
                inv.append(_Cand(score, value, i, conf))
            elif kind == "weak":
                inv.append(_Cand(0.8 if i != number_line else 0.93, value, i, conf))
            elif kind is None:
                score = 0.45 - i / 2000
                if number_line is not None and i == number_line:
                    score = 0.85
                inv.append(_Cand(score, value, i, conf))
        if inv:
            best = max(inv, key=lambda c: (c.score, -c.line))
            self.f["invoice_date"] = fmt_date(best.value)
            conf = min(best.score, 0.97)
            if any(c.value != best.value and c.score >= best.score - 0.02 for c in inv):
                conf -= 0.2
            if self.ocr:
                conf *= 0.6 + 0.4 * best.conf
            self.conf["invoice_date"] = round(max(conf, 0.3), 2)
        if due:
            start = date.fromisoformat(self.f["invoice_date"]) if self.f["invoice_date"] else None
            pool = [c for c in due if start is None or c.value >= start] or due
            best = max(pool, key=lambda c: (c.score, -c.line))
            self.f["due_date"] = fmt_date(best.value)
            conf = best.score * ((0.6 + 0.4 * best.conf) if self.ocr else 1.0)
            self.conf["due_date"] = round(min(conf, 0.95), 2)

    def _terms(self) -> None:
        """The payment terms ("Conditions de paiement : 45 jours fin de mois"); the due date
        they give when none is printed (a printed due date always wins)."""
        terms = read_terms(self.text, strict=True)
        if terms is None:
            return
        self.f["payment_terms"] = terms.rule
        self.conf["payment_terms"] = 0.7 if self.ocr else 0.8
        issued = self.f["invoice_date"]
        if self.f["due_date"] is None and issued:
            day = date.fromisoformat(issued)
            self.f["due_date"] = fmt_date(terms.due(day))
            if not terms.states_due(day):  # computed, not printed
                self.f["due_date_rule"] = terms.rule
            self.conf["due_date"] = round(min(0.85, self.conf.get("invoice_date", 0.85)), 2)

    # -- totals ----------------------------------------------------------------------------
    def _amounts_by_line(self) -> dict[int, list[_Amount]]:
        spans: list[tuple[int, int]] = [(s, e) for s, e, _ in iter_dates(self.text)]
        spans += self.id_spans
        for m in re.finditer(
            r"(?i)\b(?:iban|bic|siret|siren|rcs|r\.c\.s|tva\s+intra\w*|n°\s*tva|vat\s+"
            r"(?:no|number|id|reg)\w*|ust-?id\w*|capital(?:\s+social)?|t[ée]l\.?|phone|fax)\b"
            r"[^\n]{0,40}",
            self.text,
        ):
            spans.append((m.start(), m.end()))
        masked = _mask(self.text, spans)
        if self.ocr:
            # OCR splits "14,99" into "14, 99" or "14 ,99": join them (same length).
            masked = re.sub(r"(\d)([,.]) (\d{2})(?!\d)", r"\1\2\3 ", masked)
            masked = re.sub(r"(\d) ([,.])(\d{2})(?!\d)", r"\1\2\3 ", masked)
            masked = re.sub(r"(\d[,.]\d) (\d)(?![\d,.])", r"\1\2 ", masked)
        by_line: dict[int, list[_Amount]] = {}
        for start, end, value in iter_amounts(masked):
            line, col = self._line_col(start)
            conf = self._conf_of(line, col, col + end - start) if self.ocr else 1.0
            by_line.setdefault(line, []).append(_Amount(line, col, col + end - start, value, conf))
        if self.ocr:
            # A decimal separator lost by the OCR ("410€" for "4,10 €") on a line of totals:
            # the cents are implied, at a lower confidence; the arithmetic decides.
            totals = (_HT, _TVA, _TTC, _DUE_AMOUNT)
            for m in re.finditer(r"(?<![\d.,])(\d{3,8})(?=\s?€|\s*$|\s{2,})", masked, re.M):
                line, col = self._line_col(m.start())
                if not any(p.search(self.lines[line]) for p in totals):
                    continue
                taken = by_line.get(line, [])
                if any(a.start <= col < a.end for a in taken):
                    continue
                value = Decimal(m.group(1)) / 100
                conf = 0.5 * self._conf_of(line, col, col + len(m.group(1)))
                taken.append(_Amount(line, col, col + len(m.group(1)), value, conf))
                taken.sort(key=lambda a: a.start)
                by_line[line] = taken
        return by_line

    def _labelled(
        self, by_line: dict[int, list[_Amount]], pattern: re.Pattern[str], *, tax: bool = False
    ) -> list[_Cand]:
        out: list[_Cand] = []
        labels = (_HT, _TVA, _TTC, _DUE_AMOUNT)
        for i, line in enumerate(self.lines):
            for m in pattern.finditer(line):
                lead = len(m.group(0)) - len(m.group(0).lstrip())
                cell = self._cell_at(i, m.start() + lead)
                if "  " in m.group(0).strip() or cell is None or _NOT_TOTAL.search(cell.text):
                    # Legal mentions and payments received are never totals.
                    continue
                if tax and (_TTC.match(line, m.start()) or _HT.match(line, m.start())):
                    continue
                if tax and re.match(r"(?i)\s*(?:incl|compri|excl|inkl|exkl)", line[m.end() :]):
                    continue
                label_end = m.end()
                nxt = [
                    n.start()
                    for p in labels
                    for n in p.finditer(line, label_end)
                    if n.start() > label_end + 1
                ]
                limit = min(nxt) if nxt else 10_000
                right = [
                    a
                    for a in by_line.get(i, [])
                    if label_end <= a.start < limit and not self._legal_cell(i, a.start)
                ]
                rate = None
                if tax:
                    # "TVA 20 % 206,91": the rate printed after the label is not the amount.
                    right = [a for a in right if not _RATE.match(line, a.start)]
                    rm = _RATE.search(line[label_end : min(cell.end + 12, limit)])
                    if rm:
                        value = Decimal(rm.group(1).replace(",", "."))
                        rate = value if value in ALL_RATES else None
                    elif (
                        len(right) > 1
                        and right[0].value in ALL_RATES
                        and right[0].value
                        and not line[label_end : right[0].start].strip(" :")
                    ):
                        # "TVA 20,00      70,32 €": a bare rate, then the amount.
                        rate = right[0].value
                        right = right[1:]
                if right:
                    out.append(_Cand(1.0, right[-1].value, i, right[-1].conf, rate))
                    if len(right) > 1:
                        out.append(_Cand(0.6, right[0].value, i, right[0].conf))
                    continue
                if line[label_end : cell.end].strip(" :") and not tax:
                    continue
                # A header cell: the value below it, in the same column (not a line-items table).
                if _ITEMS_HEADER.search(line):
                    continue
                done = False
                for j in range(i + 1, min(i + 4, len(self.lines))):
                    if self._gap_below(j - 1) > 3:
                        break
                    for c in self.cells[j]:
                        overlap = min(c.x1, cell.x1 + 0.02) - max(c.x0, cell.x0 - 0.02)
                        if overlap <= 0:
                            continue
                        below = [a for a in by_line.get(j, []) if c.start <= a.start < c.end]
                        if below and c.end - c.start < 30:
                            score = 0.85 if j == i + 1 else 0.75
                            out.append(_Cand(score, below[-1].value, j, below[-1].conf, rate))
                            done = True
                            break
                    if done:
                        break
        return out

    def _legal_cell(self, i: int, col: int) -> bool:
        cell = self._cell_at(i, col)
        return cell is not None and bool(_NOT_TOTAL.search(cell.text[: col - cell.start]))

    def _rate_rows(
        self, by_line: dict[int, list[_Amount]]
    ) -> dict[Decimal, tuple[Decimal, Decimal]]:
        """VAT lines printed by rate: a known rate with a base and an amount = rate x base."""
        rows: dict[Decimal, tuple[Decimal, Decimal]] = {}
        for i, line in enumerate(self.lines):
            amounts = by_line.get(i, [])
            if len(amounts) < 2:
                continue
            rates = []
            for m in _RATE.finditer(line):
                rates.append(Decimal(m.group(1).replace(",", ".")))
            for m in _BARE_RATE.finditer(line):
                if not any(a.start <= m.start() < a.end for a in amounts):
                    with contextlib.suppress(ArithmeticError):
                        rates.append(Decimal(m.group(1).replace(",", ".")))
            for r in dict.fromkeys(rates):
                if r not in ALL_RATES or r == 0:
                    continue
                for a, b in itertools.permutations(amounts, 2):
                    base, amount = a.value, b.value
                    if base <= 0 or amount <= 0 or amount >= base:
                        continue
                    if abs(base * r / 100 - amount) <= Decimal("0.011") + base * Decimal("0.00005"):
                        if r not in rows or rows[r][0] < base:
                            rows[r] = (base, amount)
                        break
        return rows

    def _totals(self) -> None:
        by_line = self._amounts_by_line()
        ht = self._labelled(by_line, _HT)
        ttc = self._labelled(by_line, _TTC)
        tva = self._labelled(by_line, _TVA, tax=True)
        dues = self._labelled(by_line, _DUE_AMOUNT)
        rows = self._rate_rows(by_line)
        # VAT amounts labelled by rate ("TVA 20 % ... / TVA 5,5 % ..."): their sum is the VAT.
        by_rate: dict[Decimal, _Cand] = {}
        for cand in tva:
            if cand.rate is None or cand.value <= 0:
                continue
            if cand.rate not in by_rate or cand.score > by_rate[cand.rate].score:
                by_rate[cand.rate] = cand
        if len(by_rate) > 1:
            total = sum((c.value for c in by_rate.values()), Decimal(0))
            tva.append(_Cand(1.1, total, conf=min(c.conf for c in by_rate.values())))
            for r, cand in by_rate.items():
                base = rows[r][0] if r in rows and rows[r][1] == cand.value else None
                rows[r] = (base, cand.value)  # type: ignore[assignment]
        self.per_rate = {r: (b, a) for r, (b, a) in rows.items()}
        row_base = sum((b for b, _ in rows.values() if b is not None), Decimal(0))
        row_tax = sum((a for _, a in rows.values()), Decimal(0))
        if rows:
            if all(b is not None for b, _ in rows.values()):
                ht.append(_Cand(0.7, row_base))
            tva.append(_Cand(0.9 if len(rows) > 1 else 0.7, row_tax))
        rates = self._rates()
        c_pool = ttc + [_Cand(c.score * 0.85, c.value, c.line, c.conf) for c in dues]
        best: tuple[float, _Cand, _Cand, _Cand] | None = None
        # A VAT of zero that nothing printed: only where the invoice says it is untaxed.
        zero = [_Cand(0.4, Decimal(0))] if self._untaxed() else []
        if any(c.value < 0 for c in c_pool):
            # A credit note printed in negative amounts whose VAT lost its minus sign.
            tva = tva + [
                _Cand(x.score * 0.9, -x.value, x.line, x.conf, x.rate) for x in tva if x.value > 0
            ]
        for h, t, c in itertools.product(ht[:40], tva[:40] + zero, c_pool[:40]):
            if c.value == 0 or (h.value <= 0 < c.value):
                continue
            if abs(h.value + t.value - c.value) > CENT:
                continue
            score = h.score + t.score + c.score
            if self._plausible_tax(h.value, t.value, rates):
                score += 1.0
            if rows and t.value == row_tax:
                score += 0.5
            if rows and h.value == row_base:
                score += 0.3
            if t.value != 0:
                score += 0.3
            if best is None or score > best[0]:
                best = (score, h, t, c)
        conf = 0.97
        if best is None:
            best = self._pairs(ht, tva, c_pool, by_line, rates)
            conf = 0.8
        if best is None:
            guess = self._guess_totals(by_line)
            if guess is not None:
                best, conf = guess, 0.6
        singles = {c.value for c in ht + c_pool}
        if best is None and len(singles) == 1 and not [t for t in tva if t.value]:
            # One total and no VAT amount: nothing is taxed (said, or no VAT printed at all).
            c = max(ht + c_pool, key=lambda c: c.score)
            exempt = _REGIME[3][1].search(self.text) or _REGIME[0][1].search(self.text)
            untaxed = not re.search(r"(?i)\btva\b|\bvat\b|mwst|ust\b|\bbtw\b", self.text)
            if c.value > 0 and (exempt or untaxed):
                best = (1.0, _Cand(0.5, c.value), _Cand(0.5, Decimal(0)), c)
                conf = 0.9 if exempt else 0.5
        if best is None:
            for key, cands in (
                ("total_excl_tax", ht),
                ("total_tax", tva),
                ("total_incl_tax", c_pool),
            ):
                if cands:
                    cand = max(cands, key=lambda c: c.score)
                    self.f[key] = fmt_amount(cand.value)
                    self.conf[key] = 0.4
            self._amount_due(dues, None)
            return
        score, h, t, c = best
        if score < 2.6:
            conf = min(conf, 0.75)
        if t.value == 0 and not any(x.value == 0 for x in tva):
            conf = min(conf, 0.8)  # no VAT, and no printed 0,00 to say so
        self.f["total_excl_tax"] = fmt_amount(h.value)
        self.f["total_tax"] = fmt_amount(t.value)
        self.f["total_incl_tax"] = fmt_amount(c.value)
        for key, cand in (("total_excl_tax", h), ("total_tax", t), ("total_incl_tax", c)):
            value = conf * ((0.6 + 0.4 * cand.conf) if self.ocr else 1.0)
            self.conf[key] = round(value, 2)
        self._amount_due(dues, c.value)
        self._vat_lines(by_line, h.value, t.value, rates)

    def _untaxed(self) -> bool:
        """The invoice says its VAT is zero: an exemption, reverse charge, export, or 0 %."""
        if any(pattern.search(self.text) for _name, pattern in _REGIME):
            return True
        return bool(
            re.search(r"(?<![\d,.])0(?:[.,]0+)?\s?%|\bTVA\s*:?\s*0(?:[.,]00)?\b", self.text)
        )

    def _pairs(
        self,
        ht: list[_Cand],
        tva: list[_Cand],
        ttc: list[_Cand],
        by_line: dict[int, list[_Amount]],
        rates: list[Decimal],
    ) -> tuple[float, _Cand, _Cand, _Cand] | None:
        """Two labelled totals and the third found among the printed amounts by arithmetic."""
        printed = {a.value for items in by_line.values() for a in items}
        untaxed = self._untaxed()
        best = None
        for h, c in itertools.product(ht[:20], ttc[:20]):
            t = c.value - h.value
            if (t < 0 < h.value) or (h.value < 0 < t) or (t == 0 and not untaxed):
                continue
            bonus = 0.5
            derived = bool(t and t not in printed and -t not in printed)
            if derived and min(h.score, c.score) < 0.85:
                continue  # the VAT itself unreadable ("2s, 30"): from two strong labels only
            if derived:
                bonus = 0.0
            if self._plausible_tax(h.value, t, rates) or (
                derived and 0 < t / h.value < Decimal("0.23")
            ):
                cand = (h.score + c.score + bonus, h, _Cand(0.5, t), c)
                best = max(best, cand, key=lambda x: x[0]) if best else cand
        for h, t in itertools.product(ht[:20], tva[:20]):
            total = h.value + t.value
            if total in printed and self._plausible_tax(h.value, t.value, rates):
                cand = (h.score + t.score + 0.5, h, t, _Cand(0.5, total))
                best = max(best, cand, key=lambda x: x[0]) if best else cand
        for t, c in itertools.product(tva[:20], ttc[:20]):
            base = c.value - t.value
            if base > 0 and base in printed and self._plausible_tax(base, t.value, rates):
                cand = (t.score + c.score + 0.5, _Cand(0.5, base), t, c)
                best = max(best, cand, key=lambda x: x[0]) if best else cand
        return best

    def _amount_due(self, dues: list[_Cand], ttc: Decimal | None) -> None:
        """The amount left to pay: a "Solde / Net à payer" below the TTC after a payment."""
        value, conf = ttc, 0.85
        paid = bool(_PAID.search(self.text))
        if dues and ttc is not None:
            lower = [d for d in dues if 0 <= d.value < ttc and paid]
            same = [d for d in dues if d.value == ttc]
            if lower:
                value, conf = max(lower, key=lambda d: (d.score, d.line)).value, 0.85
            elif same:
                conf = 0.95
        elif dues:
            value, conf = max(dues, key=lambda d: d.score).value, 0.6
        if value is not None:
            self.f["amount_due"] = fmt_amount(value)
            self.conf["amount_due"] = conf

    def _rates(self) -> list[Decimal]:
        found: list[Decimal] = []
        for m in _RATE.finditer(self.text):
            try:
                value = Decimal(m.group(1).replace(",", "."))
            except ArithmeticError:
                continue
            if value in ALL_RATES and value not in found:
                found.append(value)
        return found

    @staticmethod
    def _plausible_tax(h: Decimal, t: Decimal, rates: list[Decimal]) -> bool:
        if h == 0:
            return t == 0
        if t == 0:
            return True
        pool = rates or sorted(ALL_RATES)
        return any(
            abs(h * r / 100 - t) <= Decimal("0.02") + abs(h) * Decimal("0.0001") for r in pool
        ) or (len(rates) > 1 and 0 < t / h < Decimal("0.23"))

    def _guess_totals(
        self, by_line: dict[int, list[_Amount]]
    ) -> tuple[float, _Cand, _Cand, _Cand] | None:
        values = sorted({a.value for items in by_line.values() for a in items if a.value > 0})
        if len(values) > 150:
            values = values[-150:]
        vs = set(values)
        best = None
        for h in values:
            for r in sorted(KNOWN_RATES - {Decimal("0")}, reverse=True):
                t = (h * r / 100).quantize(CENT)
                if t in vs and (h + t) in vs:
                    if best is None or h > best[1].value:
                        best = (2.0, _Cand(0.5, h), _Cand(0.5, t), _Cand(0.5, h + t))
                    break
        return best

    def _vat_lines(
        self, by_line: dict[int, list[_Amount]], h: Decimal, t: Decimal, rates: list[Decimal]
    ) -> None:
        lines: list[dict[str, str | None]] = []
        rows = self._consistent_rows(self.per_rate, h, t)
        if t == 0:
            lines.append({"rate": "0.00", "base": fmt_amount(h), "amount": "0.00"})
        elif rows and abs(sum((a for _, a in rows.values()), Decimal(0)) - t) <= CENT:
            if any(b is None for b, _ in rows.values()):
                bases = self._item_bases(by_line, h, {r: a for r, (_, a) in rows.items()})
                rows = {r: (bases.get(r, b), a) for r, (b, a) in rows.items()}
            lines = [
                {"rate": fmt_amount(r), "base": fmt_amount(b), "amount": fmt_amount(a)}
                for r, (b, a) in sorted(rows.items(), reverse=True)
            ]
        else:
            single = [r for r in rates if abs(h * r / 100 - t) <= Decimal("0.02")]
            if not single:
                single = [
                    r
                    for r in sorted(ALL_RATES, reverse=True)
                    if r and abs(h * r / 100 - t) <= Decimal("0.02")
                ]
            if single:
                lines.append(
                    {"rate": fmt_amount(single[0]), "base": fmt_amount(h), "amount": fmt_amount(t)}
                )
        if lines:
            self.f["vat_lines"] = lines
            self.conf["vat_lines"] = 0.9 if t == 0 or len(lines) == 1 else 0.85

    @staticmethod
    def _consistent_rows(
        rows: dict[Decimal, tuple[Decimal | None, Decimal]], h: Decimal, t: Decimal
    ) -> dict[Decimal, tuple[Decimal | None, Decimal]]:
        """The VAT rows that add up to the VAT total (a line item may look like a VAT row:
        "10 x 19,80 = 198,00" reads as 10 % of 198,00)."""
        items = sorted(rows.items(), reverse=True)
        if len(items) > 8:
            return rows
        for size in range(len(items), 0, -1):
            for subset in itertools.combinations(items, size):
                tax = sum((a for _, (_, a) in subset), Decimal(0))
                base = sum((b for _, (b, _) in subset if b is not None), Decimal(0))
                if abs(tax - t) <= CENT and base <= h + CENT:
                    return dict(subset)
        return rows

    def _item_bases(
        self, by_line: dict[int, list[_Amount]], h: Decimal, taxes: dict[Decimal, Decimal]
    ) -> dict[Decimal, Decimal]:
        """VAT bases from the lines of the invoice: each line's amount summed by its rate.

        Kept only when the sums add up to the total HT and each gives its rate's VAT amount.
        """
        sums: dict[Decimal, Decimal] = {}
        for i, line in enumerate(self.lines):
            amounts = by_line.get(i, [])
            if not amounts or any(p.search(line) for p in (_HT, _TVA, _TTC, _DUE_AMOUNT)):
                continue
            rates = {Decimal(m.group(1).replace(",", ".")) for m in _RATE.finditer(line)}
            rates &= set(taxes)
            if len(rates) == 1:
                rate = next(iter(rates))
                sums[rate] = sums.get(rate, Decimal(0)) + amounts[-1].value
        if set(sums) != set(taxes) or abs(sum(sums.values(), Decimal(0)) - h) > CENT:
            return {}
        for rate, base in sums.items():
            if abs(base * rate / 100 - taxes[rate]) > Decimal("0.01") * (1 + len(self.lines) // 20):
                return {}
        return sums

    # -- the rest --------------------------------------------------------------------------
    def _line_regimes(self, found: str | None) -> None:
        """Each VAT line's category and regime, then the invoice's regime.

        A line with VAT is "S" (standard); a line at 0 % takes the regime the invoice states
        (``found``: autoliquidation, intra-EU, export, exemption) with its category (AE, K, G,
        E), else "Z" (standard). ``vat_regime`` is the regime every line shares, "mixed" when
        they differ; without VAT lines, the regime stated. A regime stated on an invoice whose
        every line has VAT is contradicted by it: the lines stay standard, less surely.
        """
        lines = self.f["vat_lines"]
        zero = found or "standard"
        for line in lines:
            rate = to_decimal(line.get("rate"))
            if rate:
                line["category"], line["regime"] = "S", "standard"
            else:
                line["category"], line["regime"] = REGIME_ZERO_CATEGORY[zero], zero
        if not lines:
            self.f["vat_regime"] = zero
            self.conf["vat_regime"] = 0.8 if found else 0.7
            return
        self.f["vat_regime"] = invoice_regime(lines)
        if found is None:
            self.conf["vat_regime"] = 0.7
        elif self.f["vat_regime"] == "standard":
            self.conf["vat_regime"] = 0.6  # stated, but every line has VAT
        else:
            self.conf["vat_regime"] = 0.8

    def _misc(self) -> None:
        f, text = self.f, self.text
        head = "\n".join(self.lines[:20])
        if _CREDIT.search(head) or (
            f["total_incl_tax"] is not None and f["total_incl_tax"].startswith("-")
        ):
            f["document_kind"] = "credit_note"
            self.conf["document_kind"] = 0.85
        else:
            self.conf["document_kind"] = 0.9
        folded = _fold(text)
        for mode, pattern in _PAYMENT:
            if pattern.search(text) or pattern.search(folded):
                f["payment_mode"] = mode
                self.conf["payment_mode"] = 0.8
                break
        else:
            if f["supplier"]["iban"]:
                f["payment_mode"] = "transfer"
                self.conf["payment_mode"] = 0.5
        regime = None
        for name, pattern in _REGIME:
            if pattern.search(text):
                regime = name
                break
        vat = f["supplier"]["vat_number"]
        if regime is None and vat and f["total_tax"] in ("0.00", None):
            cc = vat[:2]
            if cc in EU_VAT_PREFIXES and cc != "FR":
                regime = "intra_eu"
        self._line_regimes(regime)
        for code, pattern in _CURRENCIES:
            if pattern.search(text):
                f["currency"] = code
                self.conf["currency"] = 0.9
                break
        else:
            f["currency"] = "EUR"
            self.conf["currency"] = 0.4


_ITEMS_HEADER = re.compile(
    r"(?i)d[ée]signation|description|\bqt[ée]\b|quantit|\bqty\b|prix\s+unit|\bp\.?\s?u\.?\b"
    r"|unit\s+price|\barticle\b|\bmenge\b|beschreibung|einzelpreis|\bpos\.?\b|libell[ée]"
)
_TITLE_TAIL = re.compile(
    r"(?i)\s+(?:invoice|facture|rechnung|factuur|payment\s+receipt|receipt|re[çc]u|avoir"
    r"|credit\s+note|gutschrift)\.?$"
)
_ADDRESS = re.compile(
    r"\b(?:rue|avenue|av\.|bd|boulevard|chemin|all[ée]e|impasse|place|route|quai|cours|zone|zi|za"
    r"|bp|cs|cedex|lieu-dit|lotissement|r[ée]sidence|b[âa]timent|bat\.|strasse|stra[ßs]e|str\."
    r"|weg|platz|street|road|suite|floor)\b|^\d+\s*(?:bis|ter)?\s*,?\s+\w"
)
_UNCHECKED_ID = re.compile(
    r"(?i)(?:\bTVA\b(?:\s+intra\w*)?|\bVAT\b(?:\s+(?:no|number|id|reg\w*))?|USt[\w.-]*|MwSt[\w.-]*"
    r"|\bBTW\b|\bSIRE[NT]\b(?:\s*/\s*SIRET)?)\.?\s*(?:n[°o]\.?\s*)?[:.]?[ ]{0,40}"
    r"((?:[A-Z]{2}[ .]?)?\d(?:[ .]?[0-9A-Z]){7,13})(?![0-9A-Z])"
)
_TOTAL_ANY = re.compile(r"(?i)\btotal\b|\bsumme\b|\bbetrag\b|d[ée]signation|description")


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        for i in range(start, min(end, len(chars))):
            if chars[i] != "\n":
                chars[i] = " "
    return "".join(chars)
