"""Passport and ID photos: country presets (data/presets.json), the face's landmarks, the crop to a
preset's rule, the digital file under its kB limit and the print sheets (data/sheets.json)."""
